"""The Networking API (a Neutron v2.0 subset) over the network service (network/).

    GET  /networking, /networking/         version discovery (no token)
    GET  /networking/v2.0                  the resources served
    GET  /networking/v2.0/extensions[/A]   the extensions served, honestly
    /networking/v2.0/networks[/{id}]       GET (list, show), POST, PUT, DELETE
    /networking/v2.0/subnets[/{id}]        the same
    /networking/v2.0/ports[/{id}]          the same
    /networking/v2.0/security-groups[/{id}]        the same (kept and served only:
    /networking/v2.0/security-group-rules[/{id}]   no host enforces them yet)
    /networking/v2.0/routers[/{id}]        the same, and PUT .../add_router_interface,
                                           .../remove_router_interface (records only:
                                           nothing routes; `router` is not listed)

A POST of networks, subnets or ports with the plural body (`{"ports": [...]}`)
makes them all in one transaction or none (Neutron's bulk create), answered
201 with the plural list. Ports list by their fixed IPs as Neutron's filter
`fixed_ips=ip_address=X` (`subnet_id=`, `ip_address_substr=`) says.

Beyond Neutron: an admin may PUT a port's `status` (the network agent, still
to come, is to report it instead).

The catalog names `<base>/networking` (type network, name neutron), as devstack
does; clients append /v2.0 themselves. Requests are parsed in `bodies` (those of
security groups and rules in `security_bodies`, of routers in `router_bodies`),
answers written in `views` (`router_views`), the service's refusals turned into
Neutron's error bodies in `errors`, and `routes` wires one handler class for the
collections (`router_routes` a router's two interface actions).
"""
