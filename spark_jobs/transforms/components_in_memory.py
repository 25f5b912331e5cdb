"""OneID's connected components computed in one process with SciPy, for the embedded profile.

On one machine the edge list of a brand fits in memory many times over (5M consumers: tens of
millions of edges, a few hundred MB as integer pairs), and a union-find pass over it takes seconds,
where Spark's large-star/small-star (`identity.connected_components`) runs a dozen jobs per
iteration and pays their scheduling every time. The cluster profile keeps the Spark algorithm: there
the edges do not have to fit on the driver.

Same contract as `identity.connected_components`: (node, component) for every node of `nodes`, a
component named by its least node, so the two are interchangeable and tested against each other.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as scipy_components

NODE, COMPONENT = "node", "component"


def connected_components_in_memory(edges: DataFrame, nodes: DataFrame) -> DataFrame:
    """(node, component) for every node of `nodes`, as a DataFrame: see `components_table`."""
    labelled = components_table(edges, nodes)
    return edges.sparkSession.createDataFrame(labelled, schema=f"{NODE} string, {COMPONENT} string")


def components_table(edges: DataFrame, nodes: DataFrame) -> pa.Table:
    """(node, component) for every node of `nodes`; the edges and nodes pass through the driver, each
    pair once (a consumer's identifiers meet on every record they share: years of orders repeat them)."""
    pairs = edges.select("src", "dst").distinct().toArrow()
    every_node = nodes.select(NODE).distinct().toArrow().column(NODE)
    return label_components(pairs.column("src"), pairs.column("dst"), every_node)


def label_components(src: pa.ChunkedArray, dst: pa.ChunkedArray, nodes: pa.ChunkedArray) -> pa.Table:
    """(node, component) for every node of `nodes`, linked by the edges src[i]-dst[i].

    Edges may name nodes outside `nodes`: they still link, as in the Spark algorithm, but only the
    nodes asked for are returned.
    """
    src, dst, nodes = (column.cast(pa.string()) for column in (src, dst, nodes))
    names = pc.unique(pa.chunked_array([*nodes.chunks, *src.chunks, *dst.chunks], pa.string()))
    names = names.take(pc.sort_indices(names))  # index order = node order: a component's least index
    count = len(names)
    rows = pc.index_in(src, value_set=names).to_numpy(zero_copy_only=False)
    cols = pc.index_in(dst, value_set=names).to_numpy(zero_copy_only=False)
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(count, count))
    _, labels = scipy_components(graph, directed=False)
    # The least index of each label names it: sorted names make that its least node.
    least = np.full(labels.max(initial=-1) + 1, count, dtype=np.int64)
    np.minimum.at(least, labels, np.arange(count))
    asked = pc.index_in(nodes, value_set=names).to_numpy(zero_copy_only=False)
    return pa.table(
        {
            NODE: names.take(pa.array(asked)),
            COMPONENT: names.take(pa.array(least[labels[asked]])),
        }
    )
