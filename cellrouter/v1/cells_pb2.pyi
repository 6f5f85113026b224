import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InstanceState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STATE_UNSPECIFIED: _ClassVar[InstanceState]
    BUILDING: _ClassVar[InstanceState]
    ACTIVE: _ClassVar[InstanceState]
    PAUSED: _ClassVar[InstanceState]
    SUSPENDED: _ClassVar[InstanceState]
    STOPPED: _ClassVar[InstanceState]
    DELETED: _ClassVar[InstanceState]
    ERROR: _ClassVar[InstanceState]
    UNKNOWN: _ClassVar[InstanceState]
    SHELVED: _ClassVar[InstanceState]
    SHELVED_OFFLOADED: _ClassVar[InstanceState]

class CellKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CELL_KIND_UNSPECIFIED: _ClassVar[CellKind]
    CELL_KIND_ROUTER: _ClassVar[CellKind]
    CELL_KIND_LEAF: _ClassVar[CellKind]

class CellStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CELL_STATUS_UNSPECIFIED: _ClassVar[CellStatus]
    CELL_UP: _ClassVar[CellStatus]
    CELL_DOWN: _ClassVar[CellStatus]

class ObjectState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OBJECT_STATE_UNSPECIFIED: _ClassVar[ObjectState]
    OBJECT_PENDING: _ClassVar[ObjectState]
    OBJECT_ACTIVE: _ClassVar[ObjectState]
    OBJECT_ERROR: _ClassVar[ObjectState]
    OBJECT_DELETED: _ClassVar[ObjectState]

class AgentHeard(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AGENT_HEARD_UNSPECIFIED: _ClassVar[AgentHeard]
    AGENT_NEW: _ClassVar[AgentHeard]
    AGENT_ALIVE: _ClassVar[AgentHeard]
    AGENT_REVIVED: _ClassVar[AgentHeard]
STATE_UNSPECIFIED: InstanceState
BUILDING: InstanceState
ACTIVE: InstanceState
PAUSED: InstanceState
SUSPENDED: InstanceState
STOPPED: InstanceState
DELETED: InstanceState
ERROR: InstanceState
UNKNOWN: InstanceState
SHELVED: InstanceState
SHELVED_OFFLOADED: InstanceState
CELL_KIND_UNSPECIFIED: CellKind
CELL_KIND_ROUTER: CellKind
CELL_KIND_LEAF: CellKind
CELL_STATUS_UNSPECIFIED: CellStatus
CELL_UP: CellStatus
CELL_DOWN: CellStatus
OBJECT_STATE_UNSPECIFIED: ObjectState
OBJECT_PENDING: ObjectState
OBJECT_ACTIVE: ObjectState
OBJECT_ERROR: ObjectState
OBJECT_DELETED: ObjectState
AGENT_HEARD_UNSPECIFIED: AgentHeard
AGENT_NEW: AgentHeard
AGENT_ALIVE: AgentHeard
AGENT_REVIVED: AgentHeard

class Flavor(_message.Message):
    __slots__ = ("vcpus", "memory_mb", "disk_gb")
    VCPUS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_MB_FIELD_NUMBER: _ClassVar[int]
    DISK_GB_FIELD_NUMBER: _ClassVar[int]
    vcpus: int
    memory_mb: int
    disk_gb: int
    def __init__(self, vcpus: _Optional[int] = ..., memory_mb: _Optional[int] = ..., disk_gb: _Optional[int] = ...) -> None: ...

class Port(_message.Message):
    __slots__ = ("network", "mac", "ip", "id")
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    MAC_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    network: str
    mac: str
    ip: str
    id: str
    def __init__(self, network: _Optional[str] = ..., mac: _Optional[str] = ..., ip: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class Instance(_message.Message):
    __slots__ = ("uuid", "name", "state", "cell_path", "host", "flavor", "image", "ports", "created_at", "updated_at", "project", "request_id", "fault", "attributes")
    UUID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CELL_PATH_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    FLAVOR_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    FAULT_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    uuid: str
    name: str
    state: InstanceState
    cell_path: str
    host: str
    flavor: Flavor
    image: str
    ports: _containers.RepeatedCompositeFieldContainer[Port]
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    project: str
    request_id: str
    fault: str
    attributes: Attributes
    def __init__(self, uuid: _Optional[str] = ..., name: _Optional[str] = ..., state: _Optional[_Union[InstanceState, str]] = ..., cell_path: _Optional[str] = ..., host: _Optional[str] = ..., flavor: _Optional[_Union[Flavor, _Mapping]] = ..., image: _Optional[str] = ..., ports: _Optional[_Iterable[_Union[Port, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., project: _Optional[str] = ..., request_id: _Optional[str] = ..., fault: _Optional[str] = ..., attributes: _Optional[_Union[Attributes, _Mapping]] = ...) -> None: ...

class Attributes(_message.Message):
    __slots__ = ("description", "metadata", "tags", "locked", "locked_reason", "access_ipv4", "access_ipv6", "reservation_id", "reset_to_error", "key_name")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    LOCKED_FIELD_NUMBER: _ClassVar[int]
    LOCKED_REASON_FIELD_NUMBER: _ClassVar[int]
    ACCESS_IPV4_FIELD_NUMBER: _ClassVar[int]
    ACCESS_IPV6_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    RESET_TO_ERROR_FIELD_NUMBER: _ClassVar[int]
    KEY_NAME_FIELD_NUMBER: _ClassVar[int]
    description: str
    metadata: _containers.ScalarMap[str, str]
    tags: _containers.RepeatedScalarFieldContainer[str]
    locked: bool
    locked_reason: str
    access_ipv4: str
    access_ipv6: str
    reservation_id: str
    reset_to_error: bool
    key_name: str
    def __init__(self, description: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., tags: _Optional[_Iterable[str]] = ..., locked: _Optional[bool] = ..., locked_reason: _Optional[str] = ..., access_ipv4: _Optional[str] = ..., access_ipv6: _Optional[str] = ..., reservation_id: _Optional[str] = ..., reset_to_error: _Optional[bool] = ..., key_name: _Optional[str] = ...) -> None: ...

class BootRequest(_message.Message):
    __slots__ = ("request_id", "name", "flavor", "image", "ports", "hints", "target_cell", "project", "uuid", "attributes")
    class HintsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    FLAVOR_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    HINTS_FIELD_NUMBER: _ClassVar[int]
    TARGET_CELL_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    name: str
    flavor: Flavor
    image: str
    ports: _containers.RepeatedCompositeFieldContainer[Port]
    hints: _containers.ScalarMap[str, str]
    target_cell: str
    project: str
    uuid: str
    attributes: Attributes
    def __init__(self, request_id: _Optional[str] = ..., name: _Optional[str] = ..., flavor: _Optional[_Union[Flavor, _Mapping]] = ..., image: _Optional[str] = ..., ports: _Optional[_Iterable[_Union[Port, _Mapping]]] = ..., hints: _Optional[_Mapping[str, str]] = ..., target_cell: _Optional[str] = ..., project: _Optional[str] = ..., uuid: _Optional[str] = ..., attributes: _Optional[_Union[Attributes, _Mapping]] = ...) -> None: ...

class UpdateRequest(_message.Message):
    __slots__ = ("uuid", "name", "description", "access_ipv4", "access_ipv6", "metadata", "metadata_removed", "metadata_replaced", "tags", "tags_removed", "tags_replaced", "locked", "locked_reason", "reset_to_error", "key_name")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    UUID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ACCESS_IPV4_FIELD_NUMBER: _ClassVar[int]
    ACCESS_IPV6_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    METADATA_REMOVED_FIELD_NUMBER: _ClassVar[int]
    METADATA_REPLACED_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    TAGS_REMOVED_FIELD_NUMBER: _ClassVar[int]
    TAGS_REPLACED_FIELD_NUMBER: _ClassVar[int]
    LOCKED_FIELD_NUMBER: _ClassVar[int]
    LOCKED_REASON_FIELD_NUMBER: _ClassVar[int]
    RESET_TO_ERROR_FIELD_NUMBER: _ClassVar[int]
    KEY_NAME_FIELD_NUMBER: _ClassVar[int]
    uuid: str
    name: str
    description: str
    access_ipv4: str
    access_ipv6: str
    metadata: _containers.ScalarMap[str, str]
    metadata_removed: _containers.RepeatedScalarFieldContainer[str]
    metadata_replaced: bool
    tags: _containers.RepeatedScalarFieldContainer[str]
    tags_removed: _containers.RepeatedScalarFieldContainer[str]
    tags_replaced: bool
    locked: bool
    locked_reason: str
    reset_to_error: bool
    key_name: str
    def __init__(self, uuid: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., access_ipv4: _Optional[str] = ..., access_ipv6: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., metadata_removed: _Optional[_Iterable[str]] = ..., metadata_replaced: _Optional[bool] = ..., tags: _Optional[_Iterable[str]] = ..., tags_removed: _Optional[_Iterable[str]] = ..., tags_replaced: _Optional[bool] = ..., locked: _Optional[bool] = ..., locked_reason: _Optional[str] = ..., reset_to_error: _Optional[bool] = ..., key_name: _Optional[str] = ...) -> None: ...

class RebuildRequest(_message.Message):
    __slots__ = ("uuid", "image")
    UUID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    uuid: str
    image: str
    def __init__(self, uuid: _Optional[str] = ..., image: _Optional[str] = ...) -> None: ...

class UnshelveRequest(_message.Message):
    __slots__ = ("uuid", "wait", "host")
    UUID_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    uuid: str
    wait: bool
    host: str
    def __init__(self, uuid: _Optional[str] = ..., wait: _Optional[bool] = ..., host: _Optional[str] = ...) -> None: ...

class ActionRequest(_message.Message):
    __slots__ = ("uuid", "wait")
    UUID_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    uuid: str
    wait: bool
    def __init__(self, uuid: _Optional[str] = ..., wait: _Optional[bool] = ...) -> None: ...

class RebootRequest(_message.Message):
    __slots__ = ("uuid", "wait", "hard")
    UUID_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    HARD_FIELD_NUMBER: _ClassVar[int]
    uuid: str
    wait: bool
    hard: bool
    def __init__(self, uuid: _Optional[str] = ..., wait: _Optional[bool] = ..., hard: _Optional[bool] = ...) -> None: ...

class GetRequest(_message.Message):
    __slots__ = ("uuid",)
    UUID_FIELD_NUMBER: _ClassVar[int]
    uuid: str
    def __init__(self, uuid: _Optional[str] = ...) -> None: ...

class ListRequest(_message.Message):
    __slots__ = ("limit", "page_token", "project", "state", "name_prefix", "sort", "cell")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    NAME_PREFIX_FIELD_NUMBER: _ClassVar[int]
    SORT_FIELD_NUMBER: _ClassVar[int]
    CELL_FIELD_NUMBER: _ClassVar[int]
    limit: int
    page_token: str
    project: str
    state: InstanceState
    name_prefix: str
    sort: str
    cell: str
    def __init__(self, limit: _Optional[int] = ..., page_token: _Optional[str] = ..., project: _Optional[str] = ..., state: _Optional[_Union[InstanceState, str]] = ..., name_prefix: _Optional[str] = ..., sort: _Optional[str] = ..., cell: _Optional[str] = ...) -> None: ...

class ListResponse(_message.Message):
    __slots__ = ("instances", "next_page_token", "unreachable_cells")
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    UNREACHABLE_CELLS_FIELD_NUMBER: _ClassVar[int]
    instances: _containers.RepeatedCompositeFieldContainer[Instance]
    next_page_token: str
    unreachable_cells: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, instances: _Optional[_Iterable[_Union[Instance, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., unreachable_cells: _Optional[_Iterable[str]] = ...) -> None: ...

class LocateRequest(_message.Message):
    __slots__ = ("uuid",)
    UUID_FIELD_NUMBER: _ClassVar[int]
    uuid: str
    def __init__(self, uuid: _Optional[str] = ...) -> None: ...

class ActionsRequest(_message.Message):
    __slots__ = ("uuid", "request_id")
    UUID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    uuid: str
    request_id: str
    def __init__(self, uuid: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class InstanceActionRecord(_message.Message):
    __slots__ = ("action", "request_id", "project", "user", "start_time", "finish_time", "event", "result", "message", "host")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    FINISH_TIME_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    action: str
    request_id: str
    project: str
    user: str
    start_time: float
    finish_time: float
    event: str
    result: str
    message: str
    host: str
    def __init__(self, action: _Optional[str] = ..., request_id: _Optional[str] = ..., project: _Optional[str] = ..., user: _Optional[str] = ..., start_time: _Optional[float] = ..., finish_time: _Optional[float] = ..., event: _Optional[str] = ..., result: _Optional[str] = ..., message: _Optional[str] = ..., host: _Optional[str] = ...) -> None: ...

class ActionsResponse(_message.Message):
    __slots__ = ("uuid", "project", "deleted", "actions")
    UUID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    uuid: str
    project: str
    deleted: bool
    actions: _containers.RepeatedCompositeFieldContainer[InstanceActionRecord]
    def __init__(self, uuid: _Optional[str] = ..., project: _Optional[str] = ..., deleted: _Optional[bool] = ..., actions: _Optional[_Iterable[_Union[InstanceActionRecord, _Mapping]]] = ...) -> None: ...

class LocateResponse(_message.Message):
    __slots__ = ("uuid", "cell_path", "host", "project")
    UUID_FIELD_NUMBER: _ClassVar[int]
    CELL_PATH_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    uuid: str
    cell_path: str
    host: str
    project: str
    def __init__(self, uuid: _Optional[str] = ..., cell_path: _Optional[str] = ..., host: _Optional[str] = ..., project: _Optional[str] = ...) -> None: ...

class Capacity(_message.Message):
    __slots__ = ("total", "used", "largest_free", "hosts", "hosts_up", "instances", "flavor_fits", "states", "agents")
    class FlavorFitsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class StatesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class AgentsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    USED_FIELD_NUMBER: _ClassVar[int]
    LARGEST_FREE_FIELD_NUMBER: _ClassVar[int]
    HOSTS_FIELD_NUMBER: _ClassVar[int]
    HOSTS_UP_FIELD_NUMBER: _ClassVar[int]
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    FLAVOR_FITS_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    total: Flavor
    used: Flavor
    largest_free: Flavor
    hosts: int
    hosts_up: int
    instances: int
    flavor_fits: _containers.ScalarMap[str, int]
    states: _containers.ScalarMap[str, int]
    agents: _containers.ScalarMap[str, int]
    def __init__(self, total: _Optional[_Union[Flavor, _Mapping]] = ..., used: _Optional[_Union[Flavor, _Mapping]] = ..., largest_free: _Optional[_Union[Flavor, _Mapping]] = ..., hosts: _Optional[int] = ..., hosts_up: _Optional[int] = ..., instances: _Optional[int] = ..., flavor_fits: _Optional[_Mapping[str, int]] = ..., states: _Optional[_Mapping[str, int]] = ..., agents: _Optional[_Mapping[str, int]] = ...) -> None: ...

class HostInfo(_message.Message):
    __slots__ = ("name", "capacity")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    name: str
    capacity: Capacity
    def __init__(self, name: _Optional[str] = ..., capacity: _Optional[_Union[Capacity, _Mapping]] = ...) -> None: ...

class CellNode(_message.Message):
    __slots__ = ("name", "path", "kind", "address", "status", "capacity", "capabilities", "children", "hosts", "last_seen", "replicas", "unreachable", "driver", "open_client_port")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    CHILDREN_FIELD_NUMBER: _ClassVar[int]
    HOSTS_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_FIELD_NUMBER: _ClassVar[int]
    UNREACHABLE_FIELD_NUMBER: _ClassVar[int]
    DRIVER_FIELD_NUMBER: _ClassVar[int]
    OPEN_CLIENT_PORT_FIELD_NUMBER: _ClassVar[int]
    name: str
    path: str
    kind: CellKind
    address: str
    status: CellStatus
    capacity: Capacity
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    children: _containers.RepeatedCompositeFieldContainer[CellNode]
    hosts: _containers.RepeatedCompositeFieldContainer[HostInfo]
    last_seen: _timestamp_pb2.Timestamp
    replicas: _containers.RepeatedCompositeFieldContainer[Replica]
    unreachable: bool
    driver: str
    open_client_port: bool
    def __init__(self, name: _Optional[str] = ..., path: _Optional[str] = ..., kind: _Optional[_Union[CellKind, str]] = ..., address: _Optional[str] = ..., status: _Optional[_Union[CellStatus, str]] = ..., capacity: _Optional[_Union[Capacity, _Mapping]] = ..., capabilities: _Optional[_Iterable[str]] = ..., children: _Optional[_Iterable[_Union[CellNode, _Mapping]]] = ..., hosts: _Optional[_Iterable[_Union[HostInfo, _Mapping]]] = ..., last_seen: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., replicas: _Optional[_Iterable[_Union[Replica, _Mapping]]] = ..., unreachable: _Optional[bool] = ..., driver: _Optional[str] = ..., open_client_port: _Optional[bool] = ...) -> None: ...

class Replica(_message.Message):
    __slots__ = ("address", "heard_ago_s", "standby")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    HEARD_AGO_S_FIELD_NUMBER: _ClassVar[int]
    STANDBY_FIELD_NUMBER: _ClassVar[int]
    address: str
    heard_ago_s: float
    standby: bool
    def __init__(self, address: _Optional[str] = ..., heard_ago_s: _Optional[float] = ..., standby: _Optional[bool] = ...) -> None: ...

class TopologyRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Placement(_message.Message):
    __slots__ = ("ranked", "explanations")
    RANKED_FIELD_NUMBER: _ClassVar[int]
    EXPLANATIONS_FIELD_NUMBER: _ClassVar[int]
    ranked: _containers.RepeatedCompositeFieldContainer[PlacementOption]
    explanations: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ranked: _Optional[_Iterable[_Union[PlacementOption, _Mapping]]] = ..., explanations: _Optional[_Iterable[str]] = ...) -> None: ...

class PlacementOption(_message.Message):
    __slots__ = ("cell_path", "host")
    CELL_PATH_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    cell_path: str
    host: str
    def __init__(self, cell_path: _Optional[str] = ..., host: _Optional[str] = ...) -> None: ...

class RegisterRequest(_message.Message):
    __slots__ = ("name", "address", "kind", "capabilities")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    name: str
    address: str
    kind: CellKind
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., address: _Optional[str] = ..., kind: _Optional[_Union[CellKind, str]] = ..., capabilities: _Optional[_Iterable[str]] = ...) -> None: ...

class RegisterResponse(_message.Message):
    __slots__ = ("path", "report_interval_ms")
    PATH_FIELD_NUMBER: _ClassVar[int]
    REPORT_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    path: str
    report_interval_ms: int
    def __init__(self, path: _Optional[str] = ..., report_interval_ms: _Optional[int] = ...) -> None: ...

class InstanceChange(_message.Message):
    __slots__ = ("uuid", "state", "cell_path", "host")
    UUID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CELL_PATH_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    uuid: str
    state: InstanceState
    cell_path: str
    host: str
    def __init__(self, uuid: _Optional[str] = ..., state: _Optional[_Union[InstanceState, str]] = ..., cell_path: _Optional[str] = ..., host: _Optional[str] = ...) -> None: ...

class LeafInfo(_message.Message):
    __slots__ = ("address", "actions", "refusals", "driver")
    class RefusalsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    REFUSALS_FIELD_NUMBER: _ClassVar[int]
    DRIVER_FIELD_NUMBER: _ClassVar[int]
    address: str
    actions: _containers.RepeatedScalarFieldContainer[str]
    refusals: _containers.ScalarMap[str, str]
    driver: str
    def __init__(self, address: _Optional[str] = ..., actions: _Optional[_Iterable[str]] = ..., refusals: _Optional[_Mapping[str, str]] = ..., driver: _Optional[str] = ...) -> None: ...

class ReportRequest(_message.Message):
    __slots__ = ("name", "capacity", "changes", "leaves", "address", "standby")
    class LeavesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: LeafInfo
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[LeafInfo, _Mapping]] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    LEAVES_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    STANDBY_FIELD_NUMBER: _ClassVar[int]
    name: str
    capacity: Capacity
    changes: _containers.RepeatedCompositeFieldContainer[InstanceChange]
    leaves: _containers.MessageMap[str, LeafInfo]
    address: str
    standby: bool
    def __init__(self, name: _Optional[str] = ..., capacity: _Optional[_Union[Capacity, _Mapping]] = ..., changes: _Optional[_Iterable[_Union[InstanceChange, _Mapping]]] = ..., leaves: _Optional[_Mapping[str, LeafInfo]] = ..., address: _Optional[str] = ..., standby: _Optional[bool] = ...) -> None: ...

class ReportResponse(_message.Message):
    __slots__ = ("register_again", "path")
    REGISTER_AGAIN_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    register_again: bool
    path: str
    def __init__(self, register_again: _Optional[bool] = ..., path: _Optional[str] = ...) -> None: ...

class BindRequest(_message.Message):
    __slots__ = ("uuid", "agent")
    UUID_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    uuid: str
    agent: str
    def __init__(self, uuid: _Optional[str] = ..., agent: _Optional[str] = ...) -> None: ...

class PlaceRequest(_message.Message):
    __slots__ = ("request_id", "name", "kind", "needs", "hints", "project")
    class HintsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NEEDS_FIELD_NUMBER: _ClassVar[int]
    HINTS_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    name: str
    kind: str
    needs: _containers.RepeatedScalarFieldContainer[str]
    hints: _containers.ScalarMap[str, str]
    project: str
    def __init__(self, request_id: _Optional[str] = ..., name: _Optional[str] = ..., kind: _Optional[str] = ..., needs: _Optional[_Iterable[str]] = ..., hints: _Optional[_Mapping[str, str]] = ..., project: _Optional[str] = ...) -> None: ...

class ServiceObject(_message.Message):
    __slots__ = ("uuid", "request_id", "name", "kind", "needs", "hints", "project", "agent", "cell_path", "state", "fault", "revision")
    class HintsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    UUID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NEEDS_FIELD_NUMBER: _ClassVar[int]
    HINTS_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    CELL_PATH_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    FAULT_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    uuid: str
    request_id: str
    name: str
    kind: str
    needs: _containers.RepeatedScalarFieldContainer[str]
    hints: _containers.ScalarMap[str, str]
    project: str
    agent: str
    cell_path: str
    state: ObjectState
    fault: str
    revision: int
    def __init__(self, uuid: _Optional[str] = ..., request_id: _Optional[str] = ..., name: _Optional[str] = ..., kind: _Optional[str] = ..., needs: _Optional[_Iterable[str]] = ..., hints: _Optional[_Mapping[str, str]] = ..., project: _Optional[str] = ..., agent: _Optional[str] = ..., cell_path: _Optional[str] = ..., state: _Optional[_Union[ObjectState, str]] = ..., fault: _Optional[str] = ..., revision: _Optional[int] = ...) -> None: ...

class ObjectRequest(_message.Message):
    __slots__ = ("uuid",)
    UUID_FIELD_NUMBER: _ClassVar[int]
    uuid: str
    def __init__(self, uuid: _Optional[str] = ...) -> None: ...

class ListObjectsRequest(_message.Message):
    __slots__ = ("kind", "agent", "project")
    KIND_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    kind: str
    agent: str
    project: str
    def __init__(self, kind: _Optional[str] = ..., agent: _Optional[str] = ..., project: _Optional[str] = ...) -> None: ...

class ListObjectsResponse(_message.Message):
    __slots__ = ("objects",)
    OBJECTS_FIELD_NUMBER: _ClassVar[int]
    objects: _containers.RepeatedCompositeFieldContainer[ServiceObject]
    def __init__(self, objects: _Optional[_Iterable[_Union[ServiceObject, _Mapping]]] = ...) -> None: ...

class WatchRequest(_message.Message):
    __slots__ = ("agent_id", "after_revision")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_REVISION_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    after_revision: int
    def __init__(self, agent_id: _Optional[str] = ..., after_revision: _Optional[int] = ...) -> None: ...

class BindingEvent(_message.Message):
    __slots__ = ("revision", "object", "bound", "caught_up")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    BOUND_FIELD_NUMBER: _ClassVar[int]
    CAUGHT_UP_FIELD_NUMBER: _ClassVar[int]
    revision: int
    object: ServiceObject
    bound: bool
    caught_up: bool
    def __init__(self, revision: _Optional[int] = ..., object: _Optional[_Union[ServiceObject, _Mapping]] = ..., bound: _Optional[bool] = ..., caught_up: _Optional[bool] = ...) -> None: ...

class SetObjectStateRequest(_message.Message):
    __slots__ = ("agent_id", "uuid", "state", "fault")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    FAULT_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    uuid: str
    state: ObjectState
    fault: str
    def __init__(self, agent_id: _Optional[str] = ..., uuid: _Optional[str] = ..., state: _Optional[_Union[ObjectState, str]] = ..., fault: _Optional[str] = ...) -> None: ...

class AgentReport(_message.Message):
    __slots__ = ("id", "host", "kind", "capabilities", "availability_zone", "admin_up", "load")
    ID_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    AVAILABILITY_ZONE_FIELD_NUMBER: _ClassVar[int]
    ADMIN_UP_FIELD_NUMBER: _ClassVar[int]
    LOAD_FIELD_NUMBER: _ClassVar[int]
    id: str
    host: str
    kind: str
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    availability_zone: str
    admin_up: bool
    load: int
    def __init__(self, id: _Optional[str] = ..., host: _Optional[str] = ..., kind: _Optional[str] = ..., capabilities: _Optional[_Iterable[str]] = ..., availability_zone: _Optional[str] = ..., admin_up: _Optional[bool] = ..., load: _Optional[int] = ...) -> None: ...

class AgentReportReply(_message.Message):
    __slots__ = ("heard", "down_after_s")
    HEARD_FIELD_NUMBER: _ClassVar[int]
    DOWN_AFTER_S_FIELD_NUMBER: _ClassVar[int]
    heard: AgentHeard
    down_after_s: float
    def __init__(self, heard: _Optional[_Union[AgentHeard, str]] = ..., down_after_s: _Optional[float] = ...) -> None: ...

class AgentInfo(_message.Message):
    __slots__ = ("report", "alive", "enabled", "heard_ago_s", "first_heard", "cell_path")
    REPORT_FIELD_NUMBER: _ClassVar[int]
    ALIVE_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    HEARD_AGO_S_FIELD_NUMBER: _ClassVar[int]
    FIRST_HEARD_FIELD_NUMBER: _ClassVar[int]
    CELL_PATH_FIELD_NUMBER: _ClassVar[int]
    report: AgentReport
    alive: bool
    enabled: bool
    heard_ago_s: float
    first_heard: _timestamp_pb2.Timestamp
    cell_path: str
    def __init__(self, report: _Optional[_Union[AgentReport, _Mapping]] = ..., alive: _Optional[bool] = ..., enabled: _Optional[bool] = ..., heard_ago_s: _Optional[float] = ..., first_heard: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cell_path: _Optional[str] = ...) -> None: ...

class ListAgentsRequest(_message.Message):
    __slots__ = ("kind",)
    KIND_FIELD_NUMBER: _ClassVar[int]
    kind: str
    def __init__(self, kind: _Optional[str] = ...) -> None: ...

class ListAgentsResponse(_message.Message):
    __slots__ = ("agents", "failover_stopped", "unanswered")
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    FAILOVER_STOPPED_FIELD_NUMBER: _ClassVar[int]
    UNANSWERED_FIELD_NUMBER: _ClassVar[int]
    agents: _containers.RepeatedCompositeFieldContainer[AgentInfo]
    failover_stopped: str
    unanswered: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, agents: _Optional[_Iterable[_Union[AgentInfo, _Mapping]]] = ..., failover_stopped: _Optional[str] = ..., unanswered: _Optional[_Iterable[str]] = ...) -> None: ...

class SetAgentEnabledRequest(_message.Message):
    __slots__ = ("id", "enabled")
    ID_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    id: str
    enabled: bool
    def __init__(self, id: _Optional[str] = ..., enabled: _Optional[bool] = ...) -> None: ...

class RemoveAgentRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class RemoveAgentResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
