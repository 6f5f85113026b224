"""The vocabulary every package speaks, and nothing else.

    compute     resources, hosts, instances, their states and actions, boot specs
    states      the instance state machine: the one transition table and its check
    cells       cell paths, capacity and shape; the queries and answers of the cells API
    errors      what can go wrong with a call, one error per status a caller can act on
    principal   whom a call acts for
    context     the request id of the call being served
    table       plain-text tables, as the command-line tools print them

`model` imports nothing of cellrouter's own; every other package imports it.
"""
