"""The worked-problem teaching tool: the component's `describe` and `invoke`.

componentize-py generates the `wit_world` bindings from the lectern:tool WIT at
build time; this module implements the world's exports on the `WitWorld` class.
The maths lives in problems.py; this file reads the lesson and state, records
progress, and shapes what the model reads and the learner sees.
"""

import json

import wit_world
from componentize_py_types import Err
from wit_world.imports import lesson, log, progress, state, types

import problems

PLUGIN_VERSION = "0.1.0"
# State key holding the generator seed, difficulty and the open problem (JSON).
STATE_KEY = "worked-problem"
# Version of that JSON layout, so a later release can migrate it.
STATE_FORMAT = 1

TOOLS = [
    types.ToolSpec(
        name="new_worked_problem",
        description=(
            "Give the learner a fresh practice problem for this lesson's kind of maths, with new "
            "numbers every time and difficulty that follows how they are doing. Read the problem "
            "to the learner, let them work, then call check_worked_answer. Do not solve it for them."
        ),
        parameters=json.dumps(
            {
                "type": "object",
                "properties": {
                    "kind": {
                        "type": "string",
                        "enum": list(problems.KINDS),
                        "description": "Only to override the kind the lesson implies.",
                    }
                },
                "additionalProperties": False,
            }
        ),
    ),
    types.ToolSpec(
        name="check_worked_answer",
        description=(
            "Check the learner's answer to the current practice problem. Pass the answer in digits "
            "as they gave it, e.g. '5/12', '1 1/2', '0.75' or 'x = 4'. Returns whether it is right, "
            "a hint after a first wrong try, and the worked solution when solved or out of tries."
        ),
        parameters=json.dumps(
            {
                "type": "object",
                "properties": {"answer": {"type": "string", "minLength": 1, "maxLength": 200}},
                "required": ["answer"],
                "additionalProperties": False,
            }
        ),
    ),
    types.ToolSpec(
        name="show_worked_solution",
        description="Show the step-by-step solution of the current practice problem (the learner gives up or asks to see it).",
        parameters=json.dumps({"type": "object", "properties": {}, "additionalProperties": False}),
    ),
]


class InvalidArguments(Exception):
    """The model's arguments made no sense for this call."""


class Failed(Exception):
    """The tool could not do its work."""


def _load(ctx: types.CallContext, subtopic: lesson.Subtopic) -> dict:
    """The stored session, or a fresh one seeded from the session and learner so
    each learner sees different problems. Unreadable state starts afresh: the
    practice record is worth less than the lesson."""
    raw = state.get(STATE_KEY)
    if raw is not None:
        try:
            data = json.loads(raw)
            if isinstance(data, dict) and data.get("format") == STATE_FORMAT:
                return data
        except ValueError:
            pass
    return {
        "format": STATE_FORMAT,
        "seed": problems.seed_from(f"{ctx.session_id}|{ctx.learner_id}|{subtopic.id}"),
        "tier": problems.TIER_BY_LEVEL.get(subtopic.level, 1),
        "streak": 0,
        "solved": 0,
        "attempted": 0,
        "current": None,
    }


def _save(data: dict) -> None:
    try:
        state.set(STATE_KEY, json.dumps(data, separators=(",", ":")))
    except Err as e:
        raise Failed(f"could not save the practice record ({e.value})")


def _config(ctx: types.CallContext) -> dict:
    try:
        config = json.loads(ctx.config or "{}")
    except ValueError:
        raise Failed("the plugin configuration is not valid JSON; fix it in the subtopic binding")
    if not isinstance(config, dict):
        raise Failed("the plugin configuration must be a JSON object")
    kind = config.get("kind")
    if kind is not None and kind not in problems.KINDS:
        raise Failed(f"config kind {kind!r} is not one of {', '.join(problems.KINDS)}")
    objective = config.get("objective_id")
    if objective is not None and not isinstance(objective, str):
        raise Failed("config objective_id must be a string")
    return config


def _objective_for(problem: problems.Problem, subtopic: lesson.Subtopic, config: dict):
    pinned = config.get("objective_id")
    ids = [o.id for o in subtopic.objectives]
    if pinned is not None:
        if pinned not in ids:
            raise Failed(f"config objective_id {pinned!r} is not an objective of this subtopic")
        return pinned
    return problems.closest_objective(problem, [(o.id, o.text) for o in subtopic.objectives])


def _new_problem(ctx, subtopic, config, args) -> types.ToolOutput:
    kind = args.get("kind") or config.get("kind")
    if kind is not None and kind not in problems.KINDS:
        raise InvalidArguments(f"kind must be one of {', '.join(problems.KINDS)}")
    if kind is None:
        kind = problems.infer_kind(subtopic.title, [o.text for o in subtopic.objectives], subtopic.summary)
    if kind is None:
        raise Failed(
            f"could not tell which kind of problem fits '{subtopic.title}'; "
            f"set the binding's config kind to one of {', '.join(problems.KINDS)}"
        )
    data = _load(ctx, subtopic)
    rng = problems.Rng(data["seed"])
    problem = problems.generate(kind, data["tier"], rng)
    data["seed"] = rng.state
    skipped = data["current"] is not None
    data["current"] = problem.to_json()
    objective = _objective_for(problem, subtopic, config)
    data["current"]["objective_id"] = objective
    _save(data)
    content = {
        "problem": problem.prompt,
        "kind": kind,
        "difficulty": problem.tier,
        "tries": problems.MAX_ATTEMPTS,
        "next": "Let the learner work it out, then call check_worked_answer with their answer.",
    }
    if skipped:
        content["note"] = "The previous problem was left unanswered."
    return types.ToolOutput(
        content=json.dumps(content),
        display=types.Display_Question(types.QuestionCard(prompt=problem.prompt, choices=[], objective_id=objective)),
    )


def _example(problem: problems.Problem, title: str) -> types.Display_Example:
    return types.Display_Example(
        types.ExampleCard(title=title, problem=problem.prompt, solution=problems.solution_markdown(problem))
    )


def _check(ctx, subtopic, args) -> types.ToolOutput:
    data = _load(ctx, subtopic)
    if data["current"] is None:
        raise InvalidArguments("there is no open problem; call new_worked_problem first")
    current = data["current"]
    problem = problems.Problem.from_json(current)
    try:
        verdict = problems.check(problem, str(args.get("answer", "")))
    except problems.InvalidAnswer as e:
        raise InvalidArguments(str(e))

    problem.attempts += 1
    tries_left = problems.MAX_ATTEMPTS - problem.attempts
    finished = verdict.correct or tries_left <= 0
    objective = current.get("objective_id")
    if verdict.correct or finished:
        # Evidence once per problem: the first right answer, or the last miss.
        data["attempted"] += 1
        score = verdict.score if problem.attempts == 1 else verdict.score * 0.6
        if verdict.correct:
            data["solved"] += 1
        data["tier"], data["streak"] = problems.next_tier(data["tier"], data["streak"], verdict.correct)
        if objective is not None:
            note = f"{problem.prompt} answered {args.get('answer')!r}: {verdict.feedback}"
            try:
                progress.record_evidence(objective, float(score), note[:300])
            except Err as e:
                log.log(log.Level.WARN, f"progress not recorded for {objective}: {e.value}")
        data["current"] = None
    else:
        current["attempts"] = problem.attempts
    _save(data)

    content = {
        "correct": verdict.correct,
        "simplified": verdict.simplified,
        "feedback": verdict.feedback,
        "tries_left": max(tries_left, 0) if not verdict.correct else 0,
        "solved": data["solved"],
        "attempted": data["attempted"],
    }
    if finished:
        content["answer"] = problem.answer_text()
        content["difficulty_next"] = data["tier"]
        title = "Worked solution" if verdict.correct else "Here is how to solve it"
        display = _example(problem, title)
    else:
        content["hint"] = problem.hint
        display = types.Display_Markdown(f"**Not yet.** {verdict.feedback}\n\nHint: {problem.hint}")
    return types.ToolOutput(content=json.dumps(content), display=display)


def _show(ctx, subtopic) -> types.ToolOutput:
    data = _load(ctx, subtopic)
    if data["current"] is None:
        raise InvalidArguments("there is no open problem; call new_worked_problem first")
    problem = problems.Problem.from_json(data["current"])
    data["current"] = None
    data["streak"] = 0
    _save(data)
    content = {"answer": problem.answer_text(), "steps": problem.steps}
    return types.ToolOutput(content=json.dumps(content), display=_example(problem, "Worked solution"))


class WitWorld(wit_world.WitWorld):
    def describe(self) -> types.Manifest:
        return types.Manifest(
            name="worked-problem",
            version=PLUGIN_VERSION,
            description="Fresh practice problems for a maths subtopic, with step-by-step solutions and answer checking.",
            tools=TOOLS,
            capabilities=[],
        )

    def invoke(self, ctx: types.CallContext, tool: str, arguments: str) -> types.ToolOutput:
        try:
            try:
                args = json.loads(arguments)
            except ValueError:
                raise InvalidArguments("the arguments are not valid JSON")
            if not isinstance(args, dict):
                raise InvalidArguments("the arguments must be a JSON object")
            config = _config(ctx)
            subtopic = lesson.current()
            if tool == "new_worked_problem":
                return _new_problem(ctx, subtopic, config, args)
            if tool == "check_worked_answer":
                return _check(ctx, subtopic, args)
            if tool == "show_worked_solution":
                return _show(ctx, subtopic)
            raise InvalidArguments(f"unknown tool {tool!r}; this plugin has {', '.join(t.name for t in TOOLS)}")
        except InvalidArguments as e:
            raise Err(types.ToolError_InvalidArguments(str(e)))
        except Failed as e:
            raise Err(types.ToolError_Failed(str(e)))
        except Err:
            raise
        except Exception as e:  # a bug here must reach the model as a failure, not trap
            log.log(log.Level.ERROR, f"unexpected error: {type(e).__name__}: {e}")
            raise Err(types.ToolError_Failed(f"the worked-problem tool hit an internal error ({type(e).__name__})"))
