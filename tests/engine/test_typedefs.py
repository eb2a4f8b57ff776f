"""`dagger functions` and `.help` in `dagger shell` show a description for everything the module registers."""

from __future__ import annotations

import dagger


async def test_every_object_function_and_argument_has_a_description(dag) -> None:
    from importlib.metadata import entry_points

    from dagger.mod import default_module

    # Load the main object as the module runtime does, through pyproject's entry point: that import
    # registers the module's objects (a bare `import pipeline` is lazy and registers none).
    (main_object,) = entry_points(group="dagger.mod", name="main_object")
    main_object.load()

    registered = dag.load_module_from_id(dagger.ModuleID(await default_module()._typedefs()))
    missing: list[str] = []
    described: dict[str, str] = {}
    seen_functions = 0
    for typedef in await registered.objects():
        obj = typedef.as_object()
        name = await obj.name()
        if not (await obj.description()).strip():
            missing.append(f"object {name}")
        functions = await obj.functions()
        constructor = [("constructor", obj.constructor())] if name == "Dynamo" else []
        for label, fn in constructor + [(await fn.name(), fn) for fn in functions]:
            seen_functions += 1
            if label != "constructor" and not (await fn.description()).strip():
                missing.append(f"{name}.{label}")
            for arg in await fn.args():
                described[f"{name}.{label}({await arg.name()})"] = description = await arg.description()
                if not description.strip():
                    missing.append(f"{name}.{label}({await arg.name()})")
    assert seen_functions > 20
    assert described["Dynamo.publish(dryRun)"] == "Scan and print what would be pushed; push and sign nothing"
    assert missing == [], "no description: " + ", ".join(missing)
