"""An instance's action log on the wire (`model.instance_actions`)."""

from __future__ import annotations

from cellrouter.v1 import cells_pb2 as pb
from model.instance_actions import ActionLog, ActionRecord


def action_log_to_pb(log: ActionLog) -> pb.ActionsResponse:
    return pb.ActionsResponse(
        uuid=log.uuid, project=log.project, deleted=log.deleted,
        actions=[pb.InstanceActionRecord(
            action=a.action, request_id=a.request_id, project=a.project, user=a.user,
            start_time=a.start_time, finish_time=a.finish_time, event=a.event,
            result=a.result, message=a.message, host=a.host) for a in log.actions])


def action_log_from_pb(m: pb.ActionsResponse) -> ActionLog:
    return ActionLog(m.uuid, m.project, m.deleted, tuple(
        ActionRecord(a.action, a.request_id, a.project, a.user, a.start_time,
                     a.finish_time, a.event, a.result, a.message, a.host)
        for a in m.actions))
