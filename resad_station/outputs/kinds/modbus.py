"""`kind: modbus`: Modbus TCP for a PLC, as a server the PLC polls or as a client writing to the PLC.

The map (addresses configurable, defaults shown; docs/outputs.md):
    coil 0   reject pulse (high `reject.pulse_ms`, `reject.delay_ms` after the frame's capture)
    coil 1   alarm active (raised and not yet acknowledged)
    hr 0     verdict code of the last frame: 0 none yet, 1 pass, 2 uncertain, 3 fail
    hr 1     score x 100 of the last frame (0..65535; 65535 for a score that is not a number)
    hr 2     heartbeat: +1 every `heartbeat_s` (wraps at 65536): a PLC sees the station is alive
    hr 3     product select: the PLC writes N (1-based) to switch to `products[N-1]`; 0 leaves it
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from typing import Any, Literal

from pydantic import Field

from resad_station.outputs.base import Output
from resad_station.outputs.config import OutputConfig, OutputSection, RejectConfig
from resad_station.outputs.messages import Message
from resad_station.outputs.registry import register_output

log = logging.getLogger(__name__)

VERDICT_CODES = {"pass": 1, "uncertain": 2, "fail": 3}
FC_WRITE_COILS, FC_READ_HOLDING, FC_WRITE_HOLDING = 15, 3, 16


class ModbusCoils(OutputSection):
    reject: int = Field(default=0, ge=0, le=65535)
    alarm: int = Field(default=1, ge=0, le=65535)


class ModbusRegisters(OutputSection):
    verdict: int = Field(default=0, ge=0, le=65535)
    score: int = Field(default=1, ge=0, le=65535)
    heartbeat: int = Field(default=2, ge=0, le=65535)
    product_select: int = Field(default=3, ge=0, le=65535)


class ModbusConfig(OutputConfig):
    kind: Literal["modbus"]
    mode: Literal["server", "client"] = "server"
    host: str = Field(default="0.0.0.0", min_length=1)  # server: address to listen on; client: the PLC
    port: int = Field(default=5020, ge=1, le=65535)
    unit_id: int = Field(default=1, ge=0, le=247)  # the PLC's unit (client mode)
    coils: ModbusCoils = ModbusCoils()
    registers: ModbusRegisters = ModbusRegisters()
    products: tuple[str, ...] = ()  # product_select N selects products[N-1]
    heartbeat_s: float = Field(default=1.0, gt=0)
    timeout_s: float = Field(default=2.0, gt=0)
    reject: RejectConfig | None = None


def score_register(score: Any) -> int:
    if score is None or not math.isfinite(score):
        return 65535
    return max(0, min(65535, int(round(float(score) * 100))))


class _Server:
    """A pymodbus TCP server on its own event loop thread; values set and read thread-safely."""

    def __init__(self, host: str, port: int, coils: int, registers: int, timeout: float) -> None:
        from pymodbus.server import ModbusTcpServer
        from pymodbus.simulator import DataType, SimData, SimDevice

        self.timeout = timeout
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=f"modbus-server-{port}", daemon=True)
        self.thread.start()
        device = SimDevice(id=0, simdata=(  # id 0: answers every unit id
            [SimData(0, count=coils, values=False, datatype=DataType.BITS)],
            [SimData(0, count=1, values=False, datatype=DataType.BITS)],
            [SimData(0, count=registers, values=0, datatype=DataType.REGISTERS)],
            [SimData(0, count=1, values=0, datatype=DataType.REGISTERS)]))

        async def start():
            server = ModbusTcpServer(device, address=(host, port))
            await server.serve_forever(background=True)
            return server

        try:
            self.server = self._call(start())
        except BaseException:
            self.close()
            raise

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(self.timeout)

    def write_coil(self, address: int, value: bool) -> None:
        self._call(self.server.async_setValues(0, FC_WRITE_COILS, address, [bool(value)]))

    def write_register(self, address: int, value: int) -> None:
        self._call(self.server.async_setValues(0, FC_WRITE_HOLDING, address, [int(value)]))

    def read_register(self, address: int) -> int:
        return int(self._call(self.server.async_getValues(0, FC_READ_HOLDING, address, 1))[0])

    def close(self) -> None:
        server = getattr(self, "server", None)
        if server is not None and self.loop.is_running():
            try:
                self._call(server.shutdown())
            except Exception:  # noqa: BLE001
                log.debug("modbus server shutdown failed", exc_info=True)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(self.timeout)


class _Client:
    """A pymodbus TCP client writing to the PLC; one request at a time (gate and output threads)."""

    def __init__(self, host: str, port: int, unit: int, timeout: float) -> None:
        from pymodbus.client import ModbusTcpClient

        self.unit = unit
        self.lock = threading.Lock()
        self.client = ModbusTcpClient(host, port=port, timeout=timeout, retries=0)
        if not self.client.connect():
            raise ConnectionError(f"no Modbus peer at {host}:{port}")

    def _check(self, response: Any, what: str) -> Any:
        if response.isError():
            raise ConnectionError(f"the PLC refused {what}: {response}")
        return response

    def write_coil(self, address: int, value: bool) -> None:
        with self.lock:
            self._check(self.client.write_coil(address, bool(value), device_id=self.unit), f"coil {address}")

    def write_register(self, address: int, value: int) -> None:
        with self.lock:
            self._check(self.client.write_register(address, int(value), device_id=self.unit), f"register {address}")

    def read_register(self, address: int) -> int:
        with self.lock:
            r = self._check(self.client.read_holding_registers(address, count=1, device_id=self.unit),
                            f"reading register {address}")
        return int(r.registers[0])

    def close(self) -> None:
        self.client.close()


@register_output
class ModbusOutput(Output):
    Config = ModbusConfig
    config: ModbusConfig

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.tick_s = self.config.heartbeat_s
        self._peer: _Server | _Client | None = None
        self._heartbeat = 0
        self._selected = 0

    def accepts(self, message: Message) -> bool:
        return message.kind in ("verdict", "test", "alarm") and super().accepts(message)

    def describe(self) -> str:
        return f"modbus {self.config.mode} {self.config.host}:{self.config.port}"

    def connect(self) -> None:
        c = self.config
        if c.mode == "server":
            coils = max(c.coils.reject, c.coils.alarm) + 1
            registers = max(c.registers.model_dump().values()) + 1
            self._peer = _Server(c.host, c.port, coils, registers, c.timeout_s)
        else:
            self._peer = _Client(c.host, c.port, c.unit_id, c.timeout_s)
        self._selected = self._peer.read_register(c.registers.product_select) if c.products else 0

    def send(self, message: Message) -> None:
        peer, r = self._require(), self.config.registers
        if message.kind == "alarm":
            peer.write_coil(self.config.coils.alarm, message.payload.get("status") == "raised")
        elif message.kind == "verdict":
            peer.write_register(r.score, score_register(message.payload.get("score")))
            peer.write_register(r.verdict, VERDICT_CODES[message.payload["verdict"]])
        else:  # test: the registers a PLC reads, without a verdict
            peer.write_register(r.verdict, 0)

    def tick(self) -> None:
        peer = self._require()
        self._heartbeat = (self._heartbeat + 1) % 65536
        peer.write_register(self.config.registers.heartbeat, self._heartbeat)
        if self.config.products:
            self._poll_product(peer)

    def _poll_product(self, peer: _Server | _Client) -> None:
        value = peer.read_register(self.config.registers.product_select)
        if value == self._selected:
            return
        self._selected = value
        if value == 0:
            return
        products = self.config.products
        if not 1 <= value <= len(products):
            self.last_error = f"product select {value}: expected 1..{len(products)} ({', '.join(products)})"
            log.warning("output %s: %s", self.name, self.last_error)
            return
        self.context.select_product(products[value - 1], f"plc:{self.name}")

    def reject_pulse(self, camera: str, high: bool) -> None:
        self._require().write_coil(self.config.coils.reject, high)

    def _require(self) -> _Server | _Client:
        peer = self._peer
        if peer is None:
            raise ConnectionError("not connected")
        return peer

    def disconnect(self) -> None:
        peer, self._peer = self._peer, None
        if peer is not None:
            peer.close()

    def interrupt(self) -> None:
        peer = self._peer
        if isinstance(peer, _Client):
            peer.client.close()
