"""Virt drivers: what a leaf cell runs its instances on.

`virt.driver` holds the contract (the `VirtDriver` protocol), `virt.errors`
the error tree, `virt.loader` finds drivers through entry points. The drivers
are `virt.libvirt_driver`, `virt.ovirt_driver` (with the fake engine its tests
run against, `virt.fake_ovirt`) and `virt.fake`, an in-memory hypervisor for
laptops and tests. Drivers speak the shared vocabulary of `model`, and apply
its state machine (`model.states.check`); they import nothing of the cells
or routing above them.
"""
