"""{{name}}: a Lectern teaching tool.

A teaching tool implements two functions on the `WitWorld` class. `describe`
says which tools it offers (the model sees their names, descriptions and
argument schemas); `invoke` runs one of them. The `wit_world` modules are
generated from the contract when the component is built: they are the host's
current lesson, a small key/value state kept per lesson session, learner
progress, and a log.
"""

import json

import wit_world
from componentize_py_types import Err
from wit_world.imports import lesson, log, state, types

from logic import next_key_point, parse_shown

# State key for the indexes of the key points already shown.
SHOWN_KEY = "shown"


class WitWorld(wit_world.WitWorld):
    def describe(self) -> types.Manifest:
        return types.Manifest(
            name="{{name}}",
            version="0.1.0",
            description="Tells the learner the lesson key points one at a time.",
            tools=[
                types.ToolSpec(
                    name="{{tool_name}}",
                    description=(
                        "Give the learner the next key point of this lesson that they have not heard yet. "
                        "Use it when the learner asks what matters most, or to recap."
                    ),
                    parameters=json.dumps({"type": "object", "properties": {}, "additionalProperties": False}),
                )
            ],
            capabilities=[],
        )

    def invoke(self, ctx: types.CallContext, tool: str, arguments: str) -> types.ToolOutput:
        # Raising Err(...) returns the error to the model; any other exception
        # would trap, so the model would learn nothing. Catch and explain instead.
        if tool != "{{tool_name}}":
            raise Err(types.ToolError_InvalidArguments(f"unknown tool {tool!r}; this plugin has {{tool_name}}"))
        try:
            subtopic = lesson.current()
            nxt = next_key_point(subtopic.key_points, parse_shown(state.get(SHOWN_KEY)))
            if nxt is None:
                raise Err(types.ToolError_Failed(f"the subtopic '{subtopic.title}' has no key points yet"))
            try:
                state.set(SHOWN_KEY, json.dumps(nxt["shown"]))
            except Err as e:  # the host refuses writes past the state size cap
                raise Err(types.ToolError_Failed(f"could not save what was shown: {e.value}"))
            log.log(log.Level.DEBUG, f"showed key point {nxt['index'] + 1} of {len(subtopic.key_points)}")
            return types.ToolOutput(
                # What the model reads: short, and JSON is easy for it to use.
                content=json.dumps(
                    {
                        "key_point": nxt["point"],
                        "number": nxt["index"] + 1,
                        "of": len(subtopic.key_points),
                        "all_shown_before": nxt["restarted"],
                    }
                ),
                # What the learner sees: every point shown so far.
                display=types.Display_KeyPoints([subtopic.key_points[i] for i in nxt["shown"]]),
            )
        except Err:
            raise
        except Exception as e:
            raise Err(types.ToolError_Failed(f"internal error: {type(e).__name__}: {e}"))
