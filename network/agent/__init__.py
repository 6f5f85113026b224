"""The network agent: the mechanism seam of the network room, on a host.

A port to wire reaches the agent of its host as a service object of kind
"network" (`objects`: its hints say the port, its network and segment). The
agent (`holder.NetworkHolder`, run by `agents.reference.Agent`) applies what
it is bound through one `driver.WiringDriver`, as Neutron's ML2 agents do:
it decides nothing about segments, it makes the host's links so.

    objects        the object contract: PlaceSpec hints <-> PortWiring
    errors         MalformedPort (a value), WiringFailed (what drivers raise)
    driver         the WiringDriver protocol
    recording      a driver in memory that records its calls (tests)
    linux_bridge   a bridge per network with iproute2, VLAN or flat
    holder         the agent's Holder: bind -> plug, unbind -> unplug, state on disk
    cli            `cellrouter network-agent`
"""
