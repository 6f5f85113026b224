"""The network service: networks, subnets and ports as Neutron has them, in a
database of their own tables, decoupled from compute.

Three seams, as Neutron's ML2 has them, at a fraction of the code:

    type drivers   (segments)   flat and vlan: what segment a network may be on
    IPAM           (ipam)       allocate, release, a subnet's pools; one driver
                                (ipam_table) drains pools from a free-range table
    mechanism      (not yet)    how a port is wired on a host: the network agent's

The contract is `resources` (frozen values) and `errors` (the refusals); the
service (`service.NetworkService`) keeps no state of its own between calls, so
every API process can hold one over the same database (PostgreSQL for several
processes, SQLite for one). Its tables (`tables`) are created by the room's own
ordered schema steps (`schema`), with celldb's machinery.
"""
