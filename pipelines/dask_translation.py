"""Beam pipelines as one dask.distributed task graph, for `--runner=DaskRunner` (`pipelines.runners`).

Written by hand on top of Beam's own Dask runner (`apache_beam.runners.dask`: its overrides, its
per-bundle `DoFnInvoker`) because, as of Beam 2.77, that runner is right only for straight-line
pipelines, and ours branch. Measured on a three-branch pipeline, it:

- computes only the bag of the *last* transform visited, so every other branch (the dead letters,
  the daily aggregates) silently never runs;
- drops output tags, so the consumer of a multi-output step's dead-letter output also receives
  the valid records (and the other way round);
- recomputes a side input inside the worker that reads it, so the steps that feed it (the merge
  into the dataset) run twice;
- collects no metrics (`result.metrics()` raises), and UrbanPulse publishes only when its counters
  balance (records in = out + dead letters).

Here every PCollection is one dask bag of `WindowedValue`s; a ParDo's partitions carry their
outputs by tag together with the bundle's counters; side inputs are graph dependencies (computed
once, before their readers); and the run computes every leaf and every step's counters in one
`Client.compute`. Like Beam's runner it supports bounded pipelines in the global window (what
the batch ingests are), and like Dataflow after a read, it spreads what a source step reads over
the cluster (`spread`) so the steps after it run on every worker, not one.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from functools import partial
from typing import Any

import apache_beam as beam
import dask.bag as db
from apache_beam import pvalue
from apache_beam.metrics.execution import MetricKey, MetricResult, MetricsContainer
from apache_beam.metrics.metric import MetricName, MetricResults
from apache_beam.pipeline import AppliedPTransform, PipelineVisitor
from apache_beam.runners.common import (
    DoFnContext,
    DoFnInvoker,
    DoFnSignature,
    Receiver,
    _OutputHandler,
)
from apache_beam.runners.dask.overrides import (
    _Create,
    _Flatten,
    _GroupAlsoByWindow,
    _GroupByKeyOnly,
    _Reshuffle,
)
from apache_beam.runners.worker import statesampler
from apache_beam.transforms import window
from apache_beam.transforms.sideinputs import SideInputMap
from apache_beam.utils import counters
from apache_beam.utils.windowed_value import WindowedValue
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

Partition = list[WindowedValue]
StepCounters = dict[tuple[str, str, str], int]  # (step, namespace, name) -> value


class _Collect(Receiver):
    def __init__(self, into: list[WindowedValue]) -> None:
        self.into = into

    def receive(self, windowed_value: WindowedValue) -> None:
        self.into.append(windowed_value)


class _Outputs(dict):
    """Tag -> receiver, made on first use: a DoFn may emit to tags it did not declare."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str | None, list[WindowedValue]] = defaultdict(list)

    def __missing__(self, tag):
        receiver = self[tag] = _Collect(self.values[tag])
        return receiver


def run_bundle(items: Iterable[WindowedValue], side_values: list[Partition], *, transform: beam.ParDo,
               label: str, window_fn, side_inputs: list[tuple[type, dict]]) -> tuple[dict, StepCounters]:
    """One dask partition through one ParDo, as one Beam bundle: (outputs by tag, counters)."""
    outputs = _Outputs()
    handler = _OutputHandler(window_fn=window_fn, main_receivers=outputs[None], tagged_receivers=outputs,
                             per_element_output_counter=None, output_batch_converter=None,
                             process_yields_batches=False, process_batch_yields_elements=False)
    maps = [SideInputMap(view, view_options, values) for (view, view_options), values in zip(side_inputs, side_values)]
    args, kwargs = transform.raw_side_inputs
    invoker = DoFnInvoker.create_invoker(
        DoFnSignature(transform.fn), handler, context=DoFnContext(label, state=None), side_inputs=maps,
        input_args=list(args), input_kwargs=kwargs, user_state_context=None,
        bundle_finalizer_param=beam.DoFn.BundleFinalizerParam())
    sampler = statesampler.StateSampler("", counters.CounterFactory())
    statesampler.set_current_tracker(sampler)
    container = MetricsContainer(label)
    try:
        with sampler.scoped_state(label, "process", metrics_container=container):
            invoker.invoke_setup()
            invoker.invoke_start_bundle()
            for item in items:
                invoker.invoke_process(item)
            invoker.invoke_finish_bundle()
            invoker.invoke_teardown()
    finally:
        statesampler.set_current_tracker(None)
    found = {(label, key.metric.namespace, key.metric.name): value
             for key, value in container.get_cumulative().counters.items()}
    return dict(outputs.values), found


def _bundles(main: db.Bag, sides: list[db.Bag], run) -> db.Bag:
    """`run` over each partition of `main`, with every side input's whole bag, as one layer of the
    graph: a side input passed as a dask `Item` was optimised apart from the rest of the graph, and
    the steps that fed it ran twice."""
    name = f"run_bundle-{tokenize(main.name, run.keywords['label'])}"
    layer: dict = {}
    side_keys = []
    for number, side in enumerate(sides):
        side_keys.append((f"side-{name}", number))
        layer[side_keys[-1]] = (_concatenated, [(side.name, n) for n in range(side.npartitions)])
    for n in range(main.npartitions):
        layer[name, n] = (run, (main.name, n), side_keys)
    graph = HighLevelGraph.from_collections(name, layer, dependencies=[main, *sides])
    return db.Bag(graph, name, main.npartitions)


def _tagged(bundle: tuple[dict, StepCounters], tag: str | None) -> Partition:
    return bundle[0].get(tag, [])


def _counters_of(bundle: tuple[dict, StepCounters]) -> list[StepCounters]:
    return [bundle[1]]


def _in_global_window(value) -> WindowedValue:
    return window.GlobalWindows.windowed_value(value)


def _key_of(item: WindowedValue):
    return item.value[0]


def _grouped(group: tuple[Any, list[WindowedValue]]) -> WindowedValue:
    key, items = group
    return window.GlobalWindows.windowed_value((key, [item.value[1].value for item in items]))


def _concatenated(parts: list[Partition]) -> Partition:
    return [item for part in parts for item in part]


def _drained(partition: Partition) -> list[int]:
    """A leaf's partition reduced to its length: the leaves' values stay on the workers."""
    return [sum(1 for _ in partition)]


class _Translate(PipelineVisitor):
    def __init__(self, spread: int) -> None:
        self.spread = spread
        self.bags: dict[tuple[AppliedPTransform, str | None], db.Bag] = {}
        self.bundles: dict[AppliedPTransform, db.Bag] = {}
        self.consumed: set[int] = set()

    def bag(self, pcoll: pvalue.PCollection) -> db.Bag:
        producer = pcoll.producer
        self.consumed.add(id(pcoll))
        if (producer, pcoll.tag) not in self.bags:  # a tag a ParDo emits to, asked for by name
            self.bags[producer, pcoll.tag] = self.bundles[producer].map_partitions(_tagged, pcoll.tag)
        return self.bags[producer, pcoll.tag]

    def visit_transform(self, node: AppliedPTransform) -> None:
        transform = node.transform
        inputs = [self.bag(p) for p in node.inputs if isinstance(p, pvalue.PCollection)]
        if isinstance(transform, _Create):
            bag = db.from_sequence(list(transform.values) or [], npartitions=max(1, min(self.spread, len(transform.values))))
            result = bag.map(_in_global_window) if transform.values else db.from_sequence([], npartitions=1)
        elif isinstance(transform, _GroupByKeyOnly):
            result = inputs[0].groupby(_key_of).map(_grouped)
        elif isinstance(transform, _GroupAlsoByWindow):  # global window: the grouping is done
            result = inputs[0]
        elif isinstance(transform, _Flatten):
            result = db.concat(inputs) if inputs else db.from_sequence([], npartitions=1)
        elif isinstance(transform, beam.ParDo):
            self._par_do(node, inputs[0])
            return
        elif isinstance(transform, _Reshuffle):
            result = inputs[0].repartition(max(self.spread, inputs[0].npartitions))
        else:
            raise NotImplementedError(
                f"the Dask runner cannot run step {node.full_label!r} ({type(transform).__name__}); "
                "run this pipeline on FnApiRunner")
        for tag in node.outputs:
            self.bags[node, tag] = result

    def _par_do(self, node: AppliedPTransform, main: db.Bag) -> None:
        transform = node.transform
        main_input = next(iter(node.main_inputs.values()))
        window_fn = main_input.windowing.windowfn if hasattr(main_input, "windowing") else None
        bundles = _bundles(main, [self.bag(view.pvalue) for view in node.side_inputs], partial(
            run_bundle, transform=transform, label=node.full_label, window_fn=window_fn,
            side_inputs=[(type(view), view._view_options()) for view in node.side_inputs]))
        self.bundles[node] = bundles
        reads = main_input.producer is not None and isinstance(main_input.producer.transform, _Create)
        for tag in node.outputs:
            bag = bundles.map_partitions(_tagged, tag)
            self.bags[node, tag] = bag.repartition(self.spread) if reads and self.spread > bag.npartitions else bag

    def outputs(self, pipeline_outputs: Iterable[pvalue.PCollection]) -> db.Bag:
        """One bag of every leaf (a bag nobody consumes: the sinks' last steps), drained, and every
        step's counters. One collection, so that dask optimises the graph once: computed as several,
        each was fused on its own and the steps they share ran once per collection."""
        leaves = [self.bags[p.producer, p.tag].map_partitions(_drained) for p in pipeline_outputs
                  if id(p) not in self.consumed]
        return db.concat(leaves + [bundles.map_partitions(_counters_of) for bundles in self.bundles.values()])


def pipeline_graph(pipeline: beam.Pipeline, spread: int) -> db.Bag:
    """The dask collection to compute for `pipeline`, after Beam's Dask overrides are applied:
    computing it runs every step exactly once; its dict elements are the steps' counters."""
    translate = _Translate(spread)
    pipeline.visit(translate)
    every = [pcoll for node in _all_nodes(pipeline) for pcoll in node.outputs.values()
             if isinstance(pcoll, pvalue.PCollection) and pcoll.producer is node]
    return translate.outputs(every)


def _all_nodes(pipeline: beam.Pipeline) -> list[AppliedPTransform]:
    class _Nodes(PipelineVisitor):
        def __init__(self) -> None:
            self.nodes: list[AppliedPTransform] = []

        def visit_transform(self, node: AppliedPTransform) -> None:
            self.nodes.append(node)

    nodes = _Nodes()
    pipeline.visit(nodes)
    return nodes.nodes


class BundleMetrics(MetricResults):
    """The counters the workers' bundles sent back, summed per step, queried like any runner's."""

    def __init__(self, found: Iterable[StepCounters]) -> None:
        totals: Counter = Counter()
        for step_counters in found:
            totals.update(step_counters)
        self.counters = [MetricResult(MetricKey(step, MetricName(namespace, name)), value, value)
                         for (step, namespace, name), value in totals.items()]

    def query(self, filter=None) -> dict[str, list]:
        return {self.COUNTERS: [c for c in self.counters if self.matches(filter, c.key)],
                self.DISTRIBUTIONS: [], self.GAUGES: [], self.STRINGSETS: [], self.BOUNDED_TRIES: [],
                self.HISTOGRAMS: []}
