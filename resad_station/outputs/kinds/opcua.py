"""`kind: opcua`: the station hosts an OPC UA server (asyncua) that the PLC or SCADA reads and writes.

Per camera, under Objects/ResAD/<camera> (node ids `ns=<ns>;s=<camera>.<Name>`, docs/outputs.md):
read: Verdict, VerdictCode, Score, AlarmActive, Product, PassCount, UncertainCount, FailCount,
FrameId, DefectId (the last frame's defect reference, "" when it has no defect row), LastUpdate, LastEvent (JSON of the last runtime event), TriggerResult, Reject (when
`reject:` is set). Writable by an engineer (users_file): AcknowledgeAlarm (write true),
SelectProduct (a product name), Trigger (a request id: the next frame captured after the write
is answered on TriggerResult as JSON with that request id). Every accepted write is audited.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import Field

from resad_station.outputs.base import Output
from resad_station.outputs.config import OutputConfig, RejectConfig
from resad_station.outputs.messages import Message
from resad_station.outputs.registry import register_output

log = logging.getLogger(__name__)

VERDICT_CODES = {"pass": 1, "uncertain": 2, "fail": 3}
# name -> (OPC UA type name, initial value); the writable ones last
READ_NODES = {
    "Verdict": ("String", ""), "VerdictCode": ("Int32", 0), "Score": ("Double", 0.0), "AlarmActive": ("Boolean", False),
    "Product": ("String", ""), "PassCount": ("Int64", 0), "UncertainCount": ("Int64", 0), "FailCount": ("Int64", 0),
    "FrameId": ("Int64", -1), "DefectId": ("String", ""), "LastUpdate": ("DateTime", None), "LastEvent": ("String", ""),
    "TriggerResult": ("String", ""),
}
TRIGGER_FIELDS = ("verdict", "score", "frame_id", "defect_id", "product", "time")  # of the verdict message
WRITE_NODES = {"AcknowledgeAlarm": ("Boolean", False), "SelectProduct": ("String", ""), "Trigger": ("String", "")}


class OpcUaConfig(OutputConfig):
    kind: Literal["opcua"]
    endpoint: str = Field(default="opc.tcp://0.0.0.0:4840/resad/", pattern=r"^opc\.tcp://")
    namespace: str = Field(default="urn:resad-station", min_length=1)
    users_file: str | None = None  # who may write (None: nobody); relative to the profile's folder
    timeout_s: float = Field(default=5.0, gt=0)
    reject: RejectConfig | None = None


class _Camera:
    def __init__(self) -> None:
        self.nodes: dict[str, Any] = {}
        self.counts = {"pass": 0, "uncertain": 0, "fail": 0}
        self.triggers: list[tuple[str, float]] = []  # (request id, time.time() of the write)


@register_output
class OpcUaOutput(Output):
    Config = OpcUaConfig
    config: OpcUaConfig

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._server: Any = None
        self._ns = 0
        self._root: Any = None
        self._cameras: dict[str, _Camera] = {}
        self._by_node: dict[Any, tuple[str, str]] = {}  # NodeId -> (camera, name) of writable nodes
        self._lock = threading.Lock()
        self.writes = 0

    # -- server lifecycle (the output's thread drives, the loop thread runs asyncua) ---------------

    def describe(self) -> str:
        return self.config.endpoint

    def connect(self) -> None:
        from resad_station.outputs.credentials import load_users

        users = load_users(self.context.resolve(self.config.users_file)) if self.config.users_file else {}
        self._loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(target=self._loop.run_forever, name=f"opcua-{self.name}", daemon=True)
        self._loop_thread.start()
        self._call(self._start(users))

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(self.config.timeout_s * 4)

    async def _start(self, users: dict) -> None:
        from asyncua import Server, ua
        from asyncua.common.callback import CallbackType

        from resad_station.outputs.opcua_access import EngineerWrites, FileUsers

        server = Server(user_manager=FileUsers(users))
        await server.init()
        server.set_endpoint(self.config.endpoint)
        server.set_server_name(f"ResAD Station {self.context.line}".strip())
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity],
                                   permission_ruleset=EngineerWrites(self._refused))
        server.set_identity_tokens([ua.AnonymousIdentityToken, ua.UserNameIdentityToken])
        self._ns = await server.register_namespace(self.config.namespace)
        self._root = await server.nodes.objects.add_object(ua.NodeId("ResAD", self._ns), "ResAD")
        self._server = server
        for camera in self.context.cameras:
            await self._camera(camera)
        server.subscribe_server_callback(CallbackType.PostWrite, self._on_write)
        await server.start()

    async def _camera(self, camera: str) -> _Camera:
        if camera in self._cameras:
            return self._cameras[camera]
        from asyncua import ua

        cam = _Camera()
        obj = await self._root.add_object(ua.NodeId(camera, self._ns), camera)
        nodes = dict(READ_NODES) | dict(WRITE_NODES) | ({"Reject": ("Boolean", False)} if self.config.reject else {})
        for name, (vtype, value) in nodes.items():
            variant = getattr(ua.VariantType, vtype)
            value = datetime.now(timezone.utc) if vtype == "DateTime" else value
            node = await obj.add_variable(ua.NodeId(f"{camera}.{name}", self._ns), name, ua.Variant(value, variant))
            cam.nodes[name] = (node, variant)
            if name in WRITE_NODES:
                await node.set_writable()
                self._by_node[node.nodeid] = (camera, name)
        self._cameras[camera] = cam
        return cam

    def disconnect(self) -> None:
        loop, server = self._loop, self._server
        self._server = None
        if loop is None:
            return
        if server is not None:
            try:
                self._call(server.stop())
            except Exception:  # noqa: BLE001
                log.debug("output %s: server stop failed", self.name, exc_info=True)
        loop.call_soon_threadsafe(loop.stop)
        if self._loop_thread is not None:
            self._loop_thread.join(self.config.timeout_s)
        if not loop.is_running():
            loop.close()
        self._loop = self._loop_thread = None
        self._cameras.clear()
        self._by_node.clear()

    # -- values (output thread -> loop) --------------------------------------------------------

    async def _set(self, cam: _Camera, values: dict[str, Any]) -> None:
        from asyncua import ua

        for name, value in values.items():
            node, variant = cam.nodes[name]
            await self._server.write_attribute_value(node.nodeid, ua.DataValue(ua.Variant(value, variant)))

    def send(self, message: Message) -> None:
        if self._server is None:
            raise ConnectionError("the OPC UA server is not running")
        self._call(self._apply(message))

    async def _apply(self, message: Message) -> None:
        p = message.payload
        cam = await self._camera(message.camera or "station")
        now = datetime.now(timezone.utc)
        if message.kind == "verdict":
            verdict = p["verdict"]
            cam.counts[verdict] += 1
            values = {"Verdict": verdict, "VerdictCode": VERDICT_CODES[verdict], "Score": float("nan") if p["score"] is None else float(p["score"]),
                      "Product": p["product"], "FrameId": p["frame_id"], "DefectId": p["defect_id"] or "",
                      "LastUpdate": now,
                      "PassCount": cam.counts["pass"], "UncertainCount": cam.counts["uncertain"],
                      "FailCount": cam.counts["fail"]}
            answer = self._answer_trigger(cam, message)
            if answer is not None:
                values["TriggerResult"] = answer
            await self._set(cam, values)
            return
        values = {"LastEvent": message.body.decode("utf-8"), "LastUpdate": now}
        if message.kind == "alarm":
            values["AlarmActive"] = p.get("status") == "raised"
        await self._set(cam, values)

    def _answer_trigger(self, cam: _Camera, message: Message) -> str | None:
        captured_at = message.payload["captured_at"]
        with self._lock:
            due = [t for t in cam.triggers if t[1] <= captured_at]
            if not due:
                return None
            cam.triggers = [t for t in cam.triggers if t[1] > captured_at]
        p = message.payload
        # several triggers before one frame: that frame answers the last one (the earlier are superseded)
        return json.dumps({"request_id": due[-1][0], **{k: p[k] for k in TRIGGER_FIELDS},
                           "superseded": [t[0] for t in due[:-1]]})

    def reject_pulse(self, camera: str, high: bool) -> None:
        if self._server is None or camera not in self._cameras:
            raise ConnectionError("the OPC UA server is not running")
        self._call(self._set(self._cameras[camera], {"Reject": high}))

    # -- writes from clients (loop thread) --------------------------------------------------------

    def _refused(self, user: str, body: Any) -> None:
        from asyncua import ua
        from asyncua.common.utils import Buffer
        from asyncua.ua.ua_binary import struct_from_binary

        try:  # the request is still binary here; decode a copy to name the nodes in the audit
            items = struct_from_binary(ua.WriteParameters, Buffer(bytes(body))).NodesToWrite
        except Exception:  # noqa: BLE001
            items = []
        names = [self._by_node.get(item.NodeId, ("", str(item.NodeId)))[1] for item in items]
        details = {"output": self.name, "nodes": names, "reason": "writes need an engineer (users_file)"}
        threading.Thread(target=self.context.audit, args=(f"opcua:{user}", "opcua_write_refused", details),
                         daemon=True).start()

    async def _on_write(self, event: Any, dispatcher: Any) -> None:
        if not event.is_external:
            return
        user = getattr(event.user, "name", None) or "anonymous"
        actor = f"engineer:{user}"
        loop = asyncio.get_running_loop()
        for item, status in zip(event.request_params.NodesToWrite, event.response_params):
            target = self._by_node.get(item.NodeId)
            if target is None or not status.is_good():
                continue
            camera, name = target
            value = item.Value.Value.Value
            self.writes += 1
            details = {"output": self.name, "camera": camera, "node": name, "value": value}
            loop.run_in_executor(None, self.context.audit, actor, "opcua_write", details)
            if name == "AcknowledgeAlarm" and value:
                loop.run_in_executor(None, self.context.acknowledge_alarm, camera, actor)
                await self._set(self._cameras[camera], {"AcknowledgeAlarm": False})
            elif name == "SelectProduct" and value:
                loop.run_in_executor(None, self.context.select_product, str(value), actor)
            elif name == "Trigger" and value:
                with self._lock:
                    self._cameras[camera].triggers.append((str(value), time.time()))
