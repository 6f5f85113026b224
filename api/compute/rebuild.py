"""The rebuild action: {"rebuild": {"imageRef": ..., ...}} on
POST /v2.1/servers/{id}/action.

The server's disk is built again from the image, on the same host, in the
power state it had; it keeps its uuid, flavor and ports, and one an admin set
to ERROR is active again. The leaf's driver
must be able to (virt.driver.Rebuilder): one that cannot is 409 naming the
leaf. Beside the image a rebuild may set what PUT /servers/{id} sets (name,
description from 2.19, accessIPv4/6) and replace the metadata; these are
applied after the disk, in one edit. From 2.54 `key_name` names the server's
key pair (null: none), kept with the instance in the same edit. `adminPass`
is not set in the guest (the tree sets no guest passwords) and `user_data`
(2.57) is not kept (there is no metadata service to serve it), so the
answer's `user_data` is null; `preserve_ephemeral` and `OS-DCF:diskConfig`
change nothing (no ephemeral disks; MANUAL always).

202 with the rebuilt server, Nova's rebuild body for the microversion.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aiohttp import web

from api.compute import flavor_manage, server_edits
from api.compute import server_attributes as read
from api.compute.servers import refuse_if_locked, view
from api.compute.shapes import Body
from api.errors import BadRequest
from api.microversion import Version
from api.state import action_metadata, database, not_found, state, version, who
from model.edits import Edit
from model.errors import NotFound

KEY_NAME = Version(2, 54)
USER_DATA = Version(2, 57)
_IGNORED = {"adminPass", "preserve_ephemeral", "OS-DCF:diskConfig"}


async def rebuild(request: web.Request, uuid: str, args: Any) -> web.Response:
    if not isinstance(args, dict):
        raise BadRequest("rebuild needs an object with 'imageRef'.")
    image = _image(request, args.get("imageRef"))
    edit = _edit(request, args)
    current = await server_edits.current(request)
    refuse_if_locked(request, current)
    if current.attributes.reset_to_error:  # a rebuild leaves it active, as Nova's
        edit = replace(edit, reset_to_error=False)
    client = state(request).tree.client
    try:
        instance = await client.rebuild(uuid, image, metadata=action_metadata(request))
        if edit != Edit():
            instance = await client.update(uuid, edit, metadata=action_metadata(request))
    except NotFound:
        raise not_found("Instance", uuid) from None
    views = view(request)
    views.know_keys([instance])
    return web.json_response({"server": views.detail(instance, Body.REBUILD)}, status=202)


def _image(request: web.Request, ref: Any) -> str:
    if not isinstance(ref, str) or not ref:
        raise BadRequest("Invalid input for field/attribute imageRef: an image id is needed.")
    image_id = ref.rstrip("/").rpartition("/")[2]
    if not any(image.id == image_id for image in flavor_manage.bootable_config(request).images):
        raise BadRequest(f"Image {image_id[:64]} could not be found.")
    return image_id


def _edit(request: web.Request, args: dict[str, Any]) -> Edit:
    allowed = {"imageRef", "name", "metadata", "accessIPv4", "accessIPv6", *_IGNORED}
    if version(request) >= read.DESCRIPTION:
        allowed.add("description")
    if version(request) >= KEY_NAME:
        allowed.add("key_name")
    if version(request) >= USER_DATA:
        allowed.add("user_data")
    unknown = set(args) - allowed
    if unknown:
        raise BadRequest(f"Invalid input for field/attribute rebuild: additional properties"
                         f" are not allowed ({', '.join(sorted(unknown))[:128]}).")
    limit = database(request).quotas.limits(who(request).project)["metadata_items"]
    return Edit(
        name=read.name_of(args["name"]) if "name" in args else None,
        description=read.description_of(args["description"]) if "description" in args else None,
        access_ipv4=(read.address_of("accessIPv4", args["accessIPv4"], 4)
                     if "accessIPv4" in args else None),
        access_ipv6=(read.address_of("accessIPv6", args["accessIPv6"], 6)
                     if "accessIPv6" in args else None),
        metadata=read.metadata_of(args["metadata"], limit) if "metadata" in args else (),
        metadata_replaced="metadata" in args,
        key_name=_key_name(request, args),
    )


def _key_name(request: web.Request, args: dict[str, Any]) -> str | None:
    """The key pair the rebuild names: None when it names none (unchanged), ""
    for null (the server's key pair is unset, as Nova's)."""
    if "key_name" not in args:
        return None
    name = args["key_name"]
    if name is None:
        return ""
    if not isinstance(name, str) or database(request).keypairs.get(
            who(request).user_id, name) is None:
        raise BadRequest(f"Invalid key_name provided: {str(name)[:64]}.")
    return name
