"""Line outputs: verdicts and events to PLCs (Modbus TCP, OPC UA), MES (MQTT) and webhooks.

    outputs = OutputSet.from_configs(profile.outputs, context); station.add_listener(outputs)

One file per kind in kinds/, registered by kind (registry.py); the base class (base.py) owns the
thread, queue, rate limit, back-off and counters. See docs/outputs.md.
"""

from resad_station.outputs.base import Output, OutputContext, OutputState, OutputStatus, PermanentError
from resad_station.outputs.config import OutputConfig, RejectConfig
from resad_station.outputs.messages import Message
from resad_station.outputs.output_set import OutputSet
from resad_station.outputs.registry import config_union, output_class, output_kinds, register_output

__all__ = [
    "Message", "Output", "OutputConfig", "OutputContext", "OutputSet", "OutputState", "OutputStatus",
    "PermanentError", "RejectConfig", "config_union", "output_class", "output_kinds", "register_output",
]
