"""The Networking API (a Neutron v2.0 subset) over the network service (network/).

    GET  /networking, /networking/         version discovery (no token)
    GET  /networking/v2.0                  the resources served
    GET  /networking/v2.0/extensions[/A]   the extensions served, honestly
    /networking/v2.0/networks[/{id}]       GET (list, show), POST, PUT, DELETE
    /networking/v2.0/subnets[/{id}]        the same
    /networking/v2.0/ports[/{id}]          the same

Beyond Neutron: an admin may PUT a port's `status` (the network agent, still
to come, is to report it instead).

The catalog names `<base>/networking` (type network, name neutron), as devstack
does; clients append /v2.0 themselves. Requests are parsed in `bodies`, answers
written in `views`, the service's refusals turned into Neutron's error bodies in
`errors`, and `routes` wires one handler class for the three collections.
"""
