"""What an agent may say about itself: names of sane shape, figures in range.
Each refusal is InvalidArgument naming the field and the rule. The names'
rules are the ones a placement's are checked by (`routing.validate`, where
`check_place` is: routers check placements too, and routing is below agents).
"""

from __future__ import annotations

import re

from model.agents import AgentReport
from model.errors import InvalidArgument
from routing.validate import (
    AGENT_ID,
    AGENT_KIND,
    CAPABILITY,
    MAX_AGENT_CAPABILITIES,
    ZONE,
    check_match,
)

MAX_LOAD = 2**31 - 1
_HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,254}")


def check_report(report: AgentReport) -> None:
    check_match("agent id", report.id, AGENT_ID, "letters, digits and ._:@-, at most 255")
    check_match("host", report.host, _HOST, "a host name or address, at most 255")
    check_match("kind", report.kind, AGENT_KIND,
                "lower-case letters, digits, _ and -, starting with a letter, at most 63")
    if len(report.capabilities) > MAX_AGENT_CAPABILITIES:
        raise InvalidArgument(f"agent {report.id}: at most {MAX_AGENT_CAPABILITIES}"
                              f" capabilities, got {len(report.capabilities)}")
    if len(set(report.capabilities)) != len(report.capabilities):
        raise InvalidArgument(f"agent {report.id}: a capability is given twice")
    for capability in report.capabilities:
        check_match("capability", capability, CAPABILITY, "letters, digits and ._-, at most 63")
    check_match("availability zone", report.availability_zone, ZONE,
                "letters, digits and ._:-, at most 255")
    if not 0 <= report.load <= MAX_LOAD:
        raise InvalidArgument(f"agent {report.id}: load must be from 0 to {MAX_LOAD},"
                              f" got {report.load}")
