"""The network service: networks, subnets and ports as Neutron has them, in a
database of their own tables, decoupled from compute.

Three seams, as Neutron's ML2 has them, at a fraction of the code:

    type drivers   (segments)   flat and vlan: what segment a network may be on
    IPAM           (ipam)       allocate, release, a subnet's pools; one driver
                                (ipam_table) drains pools from a free-range table
    mechanism      (not yet)    how a port is wired on a host: the network agent's

Security groups and their rules (security_groups, security_group_rules,
rule_checks, port_groups) are kept and served as Neutron's API has them,
each project's default group made on first need; NO HOST ENFORCES THEM YET
(the agent wires ports and filters nothing).

Routers (routers, router_interfaces, router_ports) are kept as records with
their interface ports; NOTHING ROUTES: there is no L3 agent, no agent
forwards between their subnets, and no network is external.

The contract is `resources` (frozen values) and `errors` (the refusals); the
service (`service.NetworkService`) keeps no state of its own between calls, so
every API process can hold one over the same database (PostgreSQL for several
processes, SQLite for one). Its tables (`tables`) are created by the room's own
ordered schema steps (`schema`), with celldb's machinery.
"""
