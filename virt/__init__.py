"""Virt drivers: what a leaf cell runs its instances on.

`virt.driver` holds the contract (the `VirtDriver` protocol), `virt.model` the
vocabulary shared by every layer above, `virt.errors` the error tree, and
`virt.fake` an in-memory hypervisor for laptops and tests.
"""
