"""A stateful engine for the tests: `up` and `destroy` as pulumi/pulumi plans and runs them.

It keeps a snapshot between runs and, for every registration of the program, decides and applies
one step with the rules of pkg/resource/deploy in pulumi/pulumi (commit 1b59498, cited as
step_generator.go = SG, deployment_executor.go = DE, step.go = ST):

- no old state: create. Otherwise `ignoreChanges` resets paths to the old *inputs* (SG:1264-1269,
  3074-3096), a changed `replacementTrigger` forces a replace without asking the provider
  (SG:1797-1813, 3683-3698), a replaced provider whose DiffConfig says so replaces its resources
  (SG:2921-2926, 2800-2880), else the provider's Diff decides: no change = same, a change = update,
  a change on a replace key = replace; `replaceOnChanges` turns changed keys into replace keys
  (SG:3170-3261).
- replace is create-before-delete: the old copy is deleted at the end of the run with the removed
  resources (SG:2159-2165, 2390-2423), unless `deleteBeforeReplace` (the option overrides the
  provider's flag, SG:2043-2046): then, first, every dependent whose provider says it must be
  replaced once the inputs it takes from a condemned resource are unknown is deleted, dependents
  first, then the old resource, then the new one is created (SG:2047-2157, 3268-3415). `dependsOn`
  alone never cascades a replacement.
- after the program: removed resources and old copies are deleted in reverse dependency order, in
  waves, each wave waiting for the one before (SG:2747-2796, DE:513-553).
- at most `parallel` steps run at once (`--parallel`, default 4 x CPUs: operations/up.go:71-89).
- a failed step stops the run: steps under way finish, nothing new starts and no delete runs
  (SE:404-461, DE:318-323); a failed create saves nothing, a failed delete keeps the resource.

Providers (tests/engine/providers) imitate the real ones' diffs, creates, updates and deletes.
"""
from __future__ import annotations

import copy
import dataclasses
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional

from pulumi.runtime import rpc

from tests.harness import Run, run_program

from .monitor import EngineMonitor
from .plan import Plan, Step
from .providers import Diff, Registry
from .state import UNKNOWN, Goal, ResourceState, plain, secret, topological

STACK = "pulumi:pulumi:Stack"


class _ExpectedStepErrors(logging.Filter):
    """Once a step failed, the program's later registrations fail too (as with the real engine) and the
    SDK leaves their futures unread: asyncio would log each one at exit. The failure is in the plan."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "StepError" not in record.getMessage()


logging.getLogger("asyncio").addFilter(_ExpectedStepErrors())


class UpFailed(RuntimeError):
    """A run stopped at a failed step; `plan` holds what was done, its error the step's message."""

    def __init__(self, plan: Plan):
        super().__init__(plan.error)
        self.plan = plan


class StepError(RuntimeError):
    """A provider operation failed; the message names the resource."""


def _inner(value: Any) -> Any:
    return value["value"] if rpc.is_rpc_secret(value) else value


def _ignored(inputs: dict, old: dict, paths: list[str]) -> dict:
    """ignoreChanges: `inputs` with each top-level or dotted path reset to its old input, or dropped
    where it had none (secrets stay wrapped). The engine keeps the result as the resource's inputs,
    so a replacement is created with them too (SG:1264-1269: the new state takes the processed inputs)."""
    inputs = copy.deepcopy(inputs)
    for path in paths:
        *parents, last = path.split(".")
        value, before = inputs, old
        for key in parents:
            value, before = _inner(value.setdefault(key, {})), _inner((before or {}).get(key, {}))
        if isinstance(before, dict) and last in before:
            value[last] = copy.deepcopy(before[last])
        else:
            value.pop(last, None)
    return inputs


def _changed_keys(old: dict, new: dict) -> list[str]:
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


class Engine:
    """Keeps the snapshot of one stack; `up(config)` and `destroy()` print and return their plan."""

    def __init__(self, registry: Registry, stack: str = "e2e", parallel: int = 4 * (os.cpu_count() or 2),
                 log: Callable[[str], None] = print):
        self.registry, self.stack, self.parallel, self.log = registry, stack, parallel, log
        self.snapshot: list[ResourceState] = []
        self.last_run: Optional[Run] = None  # the program's captured graph and outputs
        self.last_plan: Optional[Plan] = None

    def up(self, config: dict[str, Any], secrets=(), replace=()) -> Plan:
        """Run the program against the snapshot; raises UpFailed (with the plan) if a step failed.

        `replace`: names of resources to replace whatever their diff, as `pulumi up --replace <urn>`.
        """
        deployment = _Deployment(self, Plan(self.stack), replace)
        started = time.monotonic()
        try:
            self.last_run = run_program(config, secrets=secrets, stack=self.stack, monitor=EngineMonitor(deployment))
        except Exception as err:  # the program saw a failed step (or failed itself)
            deployment.fail(deployment.error or f"{type(err).__name__}: {err}")
        else:
            deployment.delete_removed()
        return self._finish(deployment, started)

    def destroy(self) -> Plan:
        """Delete every resource, in waves, without running the program (pkg/engine/destroy.go:163-165)."""
        deployment = _Deployment(self, Plan(self.stack, kind="destroy"))
        started = time.monotonic()
        deployment.delete_removed()
        return self._finish(deployment, started)

    def _finish(self, deployment: _Deployment, started: float) -> Plan:
        self.snapshot = deployment.snapshot()
        plan = self.last_plan = deployment.plan
        plan.seconds = time.monotonic() - started
        self.log(plan.render())
        if plan.error:
            raise UpFailed(plan)
        return plan

    def resource(self, name: str, typ: Optional[str] = None) -> ResourceState:
        """The live state of the resource named `name` (names are unique in this program)."""
        found = [r for r in self.snapshot if r.name == name and not r.delete and (typ is None or r.type == typ)]
        assert len(found) == 1, f"expected one live {name!r} in the snapshot, found {len(found)}"
        return found[0]


class _Deployment:
    """One `up` or `destroy`: the old snapshot, what the program registered, and the plan."""

    def __init__(self, engine: Engine, plan: Plan, replace=()):
        self.engine, self.registry, self.plan = engine, engine.registry, plan
        self.replace = set(replace)
        self.old = {r.urn: r for r in engine.snapshot if not r.delete}
        self.pending_deletes = [r for r in engine.snapshot if r.delete]  # old copies a failed run left
        self.registered: dict[str, ResourceState] = {}
        self.gone: set[int] = set()  # id() of old states already deleted (delete-before-replace)
        self.started = time.monotonic()
        self.slots = threading.BoundedSemaphore(engine.parallel)
        self.lock = threading.RLock()
        self.error = ""

    # --- registrations ---------------------------------------------------------------------
    def register(self, goal: Goal) -> tuple[str, dict]:
        if self.error:
            raise StepError(f"{goal.name}: not started, the update failed: {self.error}")
        if not goal.custom:  # components and the stack: logical resources only
            old = self.old.get(goal.urn)
            self._record(ResourceState(goal), "same" if old and plain(old.goal.inputs) == plain(goal.inputs)
                         else "update" if old else "create")
            return "", goal.inputs
        with self.slots:
            try:
                new = self._step(goal)
            except Exception as err:
                self.fail(f"{goal.name} ({goal.type}): {err}")
                raise StepError(self.error) from None
        return new.id, new.outputs

    def _step(self, goal: Goal) -> ResourceState:
        old = self.old.get(goal.urn)
        provider = self.registry.get(goal.type)
        config = self._provider_config(goal.provider)
        if old is None:
            return self._create(goal, provider, config, "create")
        if goal.ignore_changes:
            goal = dataclasses.replace(goal, inputs=_ignored(goal.inputs, old.goal.inputs, goal.ignore_changes))
        if old.pending_replacement:  # condemned by a dependency's delete-before-replace this run
            return self._create(goal, provider, config, "replace")
        news = plain(goal.inputs)
        diff = self._diff(old, goal, news, provider)
        if diff.changes and diff.replace:
            dbr = goal.delete_before_replace if goal.delete_before_replace is not None else diff.delete_before_replace
            if dbr:
                self._delete_before_replace(old)
                return self._create(goal, provider, config, "replace", keys=diff.replaces)
            new = self._create(goal, provider, config, "create-replacement", keys=diff.replaces)
            with self.lock:
                old.delete = True
                self.pending_deletes.append(old)
            self.plan.add(Step("replace", goal.type, goal.name, tuple(diff.replaces)))
            return new
        if diff.changes:
            started = time.monotonic()
            outputs = provider.update(old, news, config)
            new = ResourceState(goal, old.id, self._wrap(goal, outputs))
            self._record(new, "update", diff.diffs, started)
            return new
        new = ResourceState(goal, old.id, old.outputs)
        self._record(new, "same")
        return new

    def _diff(self, old: ResourceState, goal: Goal, news: dict, provider) -> Diff:
        """Targeted replace, trigger, provider reference, the provider's own Diff, replaceOnChanges (SG:2884-2971)."""
        if goal.name in self.replace:
            return Diff(True, ("id",))
        trigger_old, trigger_new = plain(old.goal.replacement_trigger), plain(goal.replacement_trigger)
        if trigger_old is not None and trigger_new is not None and trigger_old != trigger_new:
            return Diff(True, ("replacementTrigger",))
        if old.goal.provider != goal.provider and self._provider_replaced(old.goal.provider, goal.provider):
            return Diff(True, ("provider",))
        diff = provider.diff(old, news, self._provider_config(old.goal.provider), tuple(goal.ignore_changes))
        return diff.with_replace_on_changes(goal.replace_on_changes)

    def _provider_replaced(self, old_ref: str, new_ref: str) -> bool:
        """The new provider's DiffConfig on the old and new provider inputs (SG providerChanged)."""
        old_urn, new_urn = old_ref.rsplit("::", 1)[0], new_ref.rsplit("::", 1)[0]
        with self.lock:
            old_provider, new_provider = self.old.get(old_urn), self.registered.get(new_urn)
        if old_provider is None or new_provider is None:
            return True
        registry = self.registry.get(new_provider.type)
        return registry.diff(old_provider, new_provider.inputs, {}, ()).replace

    def _provider_config(self, ref: str) -> dict:
        """The inputs of the resource's explicit provider (its host, for docker), or {}."""
        if not ref:
            return {}
        urn = ref.rsplit("::", 1)[0]
        with self.lock:
            state = self.registered.get(urn) or self.old.get(urn)
        assert state is not None, f"provider {urn} is neither registered nor in the snapshot"
        return state.inputs

    def _create(self, goal: Goal, provider, config: dict, op: str, keys=()) -> ResourceState:
        started = time.monotonic()
        resource_id, outputs = provider.create(goal, plain(goal.inputs), config)
        new = ResourceState(goal, resource_id, self._wrap(goal, outputs))
        self._record(new, op, keys, started)
        return new

    def _wrap(self, goal: Goal, outputs: dict) -> dict:
        """Outputs as the engine returns them: secret where the input was, or where the program asked."""
        secrets = set(goal.additional_secret_outputs) | {k for k, v in goal.inputs.items() if rpc.is_rpc_secret(v)}
        return {k: secret(v) if k in secrets and not rpc.is_rpc_secret(v) else v for k, v in outputs.items()}

    def _record(self, new: ResourceState, op: str, keys=(), started: Optional[float] = None) -> None:
        with self.lock:
            self.registered[new.urn] = new
        seconds = time.monotonic() - started if started else 0.0
        self.plan.add(Step(op, new.type, new.name, tuple(keys), seconds, (started or time.monotonic()) - self.started))

    # --- delete-before-replace ---------------------------------------------------------------
    def _delete_before_replace(self, root: ResourceState) -> None:
        """Delete the dependents that must be replaced with `root` (dependents first), then `root`."""
        for dependent in reversed(self._dependent_replacements(root)):
            self._delete(dependent, "delete-replaced")
            dependent.pending_replacement = True
        self._delete(root, "delete-replaced")
        root.pending_replacement = True

    def _dependent_replacements(self, root: ResourceState) -> list[ResourceState]:
        """SG calculateDependentReplacements: transitive dependents in snapshot order, kept if replaced."""
        with self.lock:
            registered = set(self.registered)
            snapshot = [r for r in topological(list(self.old.values())) if r.urn not in registered]
        replace_set, dependents = {root.urn}, []
        reached = {root.urn}
        for res in snapshot:
            if res is root or not res.dependencies(with_parent=False) & reached:
                continue
            reached.add(res.urn)
            if res.custom and self._replaced_with(res, replace_set):
                replace_set.add(res.urn)
                dependents.append(res)
        return dependents

    def _replaced_with(self, res: ResourceState, replace_set: set[str]) -> bool:
        if res.provider_urn in replace_set:
            return True
        inputs, unknown = res.inputs, False
        for key, urns in res.goal.property_dependencies.items():
            if key in inputs and set(urns) & replace_set:
                inputs[key], unknown = UNKNOWN, True
        if not unknown:
            return False
        diff = self.registry.get(res.type).diff(res, inputs, self._provider_config(res.goal.provider),
                                                tuple(res.goal.ignore_changes))
        return diff.with_replace_on_changes(res.goal.replace_on_changes).replace

    # --- deletes ---------------------------------------------------------------------------
    def _delete(self, old: ResourceState, op: str) -> None:
        started = time.monotonic()
        if old.custom:
            self.registry.get(old.type).delete(old, self._provider_config(old.goal.provider))
        with self.lock:
            self.gone.add(id(old))
        self.plan.add(Step(op, old.type, old.name, (), time.monotonic() - started, started - self.started))

    def delete_removed(self) -> None:
        """Removed resources and replaced old copies, in reverse-dependency waves (SG ScheduleDeletes)."""
        condemned = [r for r in self.old.values() if r.urn not in self.registered and not r.pending_replacement]
        condemned += [r for r in self.pending_deletes if id(r) not in self.gone]
        for wave in self._waves(condemned):
            with ThreadPoolExecutor(max_workers=self.engine.parallel) as pool:
                futures = [(res, pool.submit(self._delete, res, "delete-replaced" if res.delete else "delete"))
                           for res in wave]
            failed = [(res, f.exception()) for res, f in futures if f.exception()]
            if failed:
                res, err = failed[0]
                self.fail(f"{res.name} ({res.type}): deleting failed: {err}")
                return

    @staticmethod
    def _waves(condemned: list[ResourceState]) -> list[list[ResourceState]]:
        """Antichains: peel the resources none of whose condemned dependencies remain, then reverse."""
        remaining = list(condemned)
        waves = []
        while remaining:
            urns = {r.urn for r in remaining}
            wave = [r for r in remaining if not (r.dependencies() - {r.urn}) & urns]
            if not wave:
                raise AssertionError(f"a dependency cycle among {sorted(urns)}")
            remaining = [r for r in remaining if r not in wave]
            waves.append(wave)
        return list(reversed(waves))

    # --- end -------------------------------------------------------------------------------
    def fail(self, message: str) -> None:
        with self.lock:
            if not self.error:
                self.error = message
                self.plan.error = message

    def snapshot(self) -> list[ResourceState]:
        """What the run leaves: everything registered, and old states not deleted (failed, or not reached)."""
        with self.lock:
            kept = list(self.registered.values())
            for old in [*self.engine.snapshot]:
                if id(old) in self.gone or (old.urn in self.registered and not old.delete):
                    continue
                if old.pending_replacement:  # deleted ahead of a replacement that never came
                    continue
                kept.append(old)
        return topological(kept)
