"""ocpagg.convert against koku's own results: Parquet types, NULL vs NaN, bit-identical daily sums.

koku (768be82) writes its files with pandas: its daily sums are pandas' group-by sums, its added
columns have pandas' dtypes, and pandas' Parquet writer stores NaN as NULL. The expected values
here were worked out by running koku's steps with its pinned pandas 2.3.3 / pyarrow 25.0.1.

pandas 2.3.3 sums every group with Kahan summation in row order. pandas >= 3.1 takes a shortcut
(``np.add.reduceat``, pairwise) when the group labels are already sorted, so comparisons with
the installed pandas use unsorted labels, and :func:`_koku_group_sum` (pandas 2.3.3's loop,
restated in plain Python) is the reference where labels may be sorted.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from nisedata import NISE_YAMLS, nise_root_factory  # noqa: F401
from ocpagg.convert import REPORT_DEFS, KahanSums, convert
from test_convert import (
    FEB,
    GPU_HEADER,
    POD_HEADER,
    SCHEMA,
    SOURCE,
    STORAGE_HEADER,
    _hour,
    _koku_daily,
    _tree,
    _write,
)


def _koku_group_sum(values: pd.Series) -> float:
    """One group's sum as pandas 2.3.3 (koku's) computes it: Kahan, in row order, NaN skipped."""
    total = compensation = 0.0
    for value in values.tolist():
        if value != value:
            continue
        y = value - compensation
        t = total + y
        compensation = (t - total) - y
        if compensation != compensation:  # an infinity: keep it
            compensation = 0.0
        total = t
    return total


def _bits(values: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.float64).view(np.uint64)


def _adversarial(rng: np.random.Generator, n: int) -> np.ndarray:
    """Values whose plain, pairwise and compensated sums differ: wide magnitudes, cancellation."""
    values = rng.standard_normal(n) * 10.0 ** rng.integers(-20, 20, n)
    values[rng.random(n) < 0.05] = 1e16
    values[rng.random(n) < 0.05] = -1e16
    values[rng.random(n) < 0.05] = 0.1
    values[rng.random(n) < 0.01] = np.nan
    return values


def test_kahan_sums_are_pandas_groupby_sums_bit_for_bit() -> None:
    rng = np.random.default_rng(20270130)
    n = 60_000
    # many small groups, one long group (the loop path), a few mid-sized ones
    groups = np.concatenate(
        [rng.integers(0, 2000, n - 12_000), np.full(10_000, 2001), rng.integers(0, 4, 2000)]
    )
    rng.shuffle(groups)
    values = _adversarial(rng, n)
    values[rng.integers(0, n, 4)] = np.inf  # pandas keeps an infinity (its compensation reset)
    values[np.flatnonzero(groups == 3)[:2]] = [np.inf, -np.inf]  # and inf - inf is NaN
    expected = pd.Series(values).groupby(groups).sum()

    sums = KahanSums()
    cuts = np.sort(rng.integers(0, n, 30))
    for start, stop in zip(np.r_[0, cuts], np.r_[cuts, n], strict=True):  # fed in pieces
        sums.add(groups[start:stop], values[start:stop])
    ours = sums.sums(int(groups.max()) + 1)[expected.index.to_numpy()]
    np.testing.assert_array_equal(_bits(ours), _bits(expected.to_numpy()))
    assert np.isnan(ours[expected.index.get_loc(3)])

    koku = pd.Series(values).groupby(groups).agg(_koku_group_sum)
    np.testing.assert_array_equal(_bits(ours), _bits(koku.to_numpy()))

    plain = np.zeros(int(groups.max()) + 1)
    finite = ~np.isnan(values)
    with np.errstate(invalid="ignore"):
        np.add.at(plain, groups[finite], values[finite])
    assert (plain[expected.index.to_numpy()] != expected.to_numpy()).sum() > 500  # the values do matter


def test_sorted_groups_sum_as_koku_pandas_does() -> None:
    # koku's pandas 2.3.3 gives 76602.24 (Kahan); pandas 3.1 on sorted labels 76602.23999999999
    values = np.full(24, 3191.76)
    sums = KahanSums()
    sums.add(np.zeros(24, dtype=np.int64), values)
    assert sums.sums(1)[0] == 76602.24 == _koku_group_sum(pd.Series(values))
    interleaved = pd.Series(np.r_[values, values]).groupby(np.tile([0, 1], 24)).sum()
    assert interleaved.tolist() == [76602.24, 76602.24]  # any pandas on unsorted labels: Kahan


def test_daily_sums_are_pandas_groupby_sums_bit_for_bit(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    usage = _adversarial(rng, 24 * 40).tolist()
    rows = []
    for h in range(24):
        for p in range(40):
            value = usage[h * 40 + p]
            rows.append(
                f"{FEB},{_hour('2027-02-12', h)},pod{p % 5},ns{p % 5 % 2},n1,i-1,{value!r},{-value!r},1,"
                f"{value * 3!r},2,3,4,{value * 7!r},8,9,label_app:a{p % 5 % 3},"
            )
    path = _write(tmp_path / "pods.csv", POD_HEADER, rows)
    small = convert(
        [path], tmp_path / "small", schema=SCHEMA, source_uuid=SOURCE, flush_rows=37, block_bytes=4096
    )
    convert([path], tmp_path / "big", schema=SCHEMA, source_uuid=SOURCE)
    assert len(small.files[0].hourly_files) > 10  # many pieces of the day

    # koku: pandas' group-by of the day's hourly rows, in file order
    hourly = pd.concat([pq.read_table(p).to_pandas() for p in small.files[0].hourly_files], ignore_index=True)
    keys = ["namespace", "node", "pod", "pod_labels"]
    sums = [
        "pod_usage_cpu_core_seconds",
        "pod_request_cpu_core_seconds",
        "pod_effective_usage_cpu_core_seconds",
        "pod_usage_memory_byte_seconds",
        "node_capacity_cpu_core_seconds",
    ]
    expected = (
        hourly.groupby([*keys, pd.Grouper(key="interval_start", freq="D")], dropna=False)[sums]
        .sum()
        .reset_index()
    )
    for root in (tmp_path / "small", tmp_path / "big"):
        daily = _tree(root, "pod_usage", 2027, 2, daily=True).to_pandas()
        merged = expected.merge(daily, on=[*keys, "interval_start"], suffixes=("_koku", ""), validate="1:1")
        assert len(merged) == len(expected) == 5  # 192 rows a group
        for name in sums:
            np.testing.assert_array_equal(
                _bits(merged[name].to_numpy()), _bits(merged[f"{name}_koku"].to_numpy())
            )
    plain = hourly.groupby(keys)["pod_usage_cpu_core_seconds"].agg(
        lambda s: float(np.cumsum(s.to_numpy())[-1])
    )
    kahan = expected.set_index(keys)["pod_usage_cpu_core_seconds"]
    assert (plain.sort_index().to_numpy() != kahan.sort_index().to_numpy()).any()  # the values do matter
    a = _tree(tmp_path / "small", "pod_usage", 2027, 2, daily=True)
    b = _tree(tmp_path / "big", "pod_usage", 2027, 2, daily=True)
    assert a.equals(b)  # the same bits whatever the block and flush sizes


GPU_ROWS = [
    f"{FEB},{_hour('2027-02-09', 0)},n1,ns,p1,GPU-1,NVIDIA A100-SXM4-40GB,nvidia_com_gpu,40960,3600,"
    "MIG-1,1g.5gb,mixed",
    f"{FEB},{_hour('2027-02-09', 0)},n1,ns,p2,GPU-2,Acme X9,nvidia_com_gpu,1024,3600,MIG-9,2g.10gb,single",
    f"{FEB},{_hour('2027-02-09', 0)},n1,ns,p3,GPU-3,Tesla T4,amd_com_gpu,15360,1800,,,",
    f"{FEB},{_hour('2027-02-09', 1)},n1,ns,p3,GPU-3,Tesla T4,amd_com_gpu,15360,nan,,,",
    f"{FEB},{_hour('2027-02-10', 0)},n1,ns,p3,GPU-3,Tesla T4,amd_com_gpu,15360,1200,,,",
]
MIG_NUMBERS = ("mig_slice_count", "mig_memory_capacity_mib", "gpu_max_slices")


def _types(path_or_table, names) -> dict[str, pa.DataType]:
    schema = path_or_table.schema
    return {n: schema.field(n).type for n in names}


def test_gpu_mig_numbers_typed_and_null_as_in_koku(tmp_path: Path) -> None:
    out = tmp_path / "out"
    convert([_write(tmp_path / "gpu.csv", GPU_HEADER, GPU_ROWS)], out, schema=SCHEMA, source_uuid=SOURCE)
    hourly = _tree(out, "gpu_usage", 2027, 2)
    assert _types(hourly, MIG_NUMBERS) == dict.fromkeys(MIG_NUMBERS, pa.int64())
    by_pod = {(r["pod"], r["interval_start"]): r for r in hourly.to_pylist()}
    p1 = by_pod["p1", dt.datetime(2027, 2, 9)]
    assert [p1[c] for c in MIG_NUMBERS] == [1, 5120, 7]
    assert by_pod["p3", dt.datetime(2027, 2, 9, 1)]["gpu_pod_uptime"] is None  # 'nan' -> NULL

    folder = out / "data/parquet/daily" / SCHEMA / "OCP/gpu_usage" / f"source={SOURCE}/year=2027/month=02"
    (day9,) = folder.glob("gpu_usage.2027-02-09.*_daily_0.parquet")
    (day10,) = folder.glob("gpu_usage.2027-02-10.*_daily_0.parquet")
    # a day with MIG values: pandas' max of koku's object column is float64; NULL where no MIG
    daily9 = pq.read_table(day9)
    assert _types(daily9, MIG_NUMBERS) == dict.fromkeys(MIG_NUMBERS, pa.float64())
    rows = {r["pod"]: r for r in daily9.to_pylist()}
    assert [rows["p1"][c] for c in MIG_NUMBERS] == [1.0, 5120.0, 7.0]
    for pod in ("p2", "p3"):  # p2: unknown model, MIG cleared; p3: no MIG
        assert [rows[pod][c] for c in MIG_NUMBERS] == [None, None, None]
        assert daily9.filter(pc.equal(daily9["pod"], pod))["mig_slice_count"].null_count == 1
    assert rows["p3"]["gpu_pod_uptime"] == 1800.0  # NaN skipped in the sum
    assert (rows["p2"]["mig_instance_id"], rows["p3"]["mig_instance_id"], rows["p3"]["mig_profile"]) == (
        None,
        "",
        "",
    )
    # a day without MIG values: the int64 NULLs of koku's added columns
    daily10 = pq.read_table(day10)
    assert _types(daily10, MIG_NUMBERS) == dict.fromkeys(MIG_NUMBERS, pa.int64())
    assert [daily10[c].null_count for c in MIG_NUMBERS] == [1, 1, 1]


def _koku_added_column_type(dtype) -> pa.DataType:
    """The Parquet type pandas gives a column koku adds as ``pd.Series(dtype=...)``."""
    frame = pd.DataFrame({"x": [1.0]})
    frame["added"] = pd.Series(dtype=dtype)
    return pa.Table.from_pandas(frame, preserve_index=False).schema.field("added").type


def test_daily_added_columns_have_koku_types(tmp_path: Path) -> None:
    koku_string = _koku_added_column_type(pd.StringDtype(storage="pyarrow"))
    koku_int = _koku_added_column_type(pd.Int64Dtype())
    assert (koku_string, koku_int) == (pa.large_string(), pa.int64())
    out = tmp_path / "out"
    pod_header = POD_HEADER.removesuffix(",node_role")
    pod_row = f"{FEB},{_hour('2027-02-03', 0)},p1,ns1,n1,i-1,1,2,3,4,5,6,7,8,9,10,"
    storage_header = STORAGE_HEADER.replace("node,", "").replace("csi_driver,csi_volume_handle,", "")
    storage_row = f"{FEB},{_hour('2027-02-03', 0)},ns1,p1,pvc1,pv1,gp3,100,360000,1,2,,"
    gpu_header = GPU_HEADER.removesuffix(",mig_instance_id,mig_profile,mig_strategy")
    gpu_row = f"{FEB},{_hour('2027-02-03', 0)},n1,ns,p1,GPU-1,Tesla T4,nvidia_com_gpu,15360,3600"
    convert(
        [
            _write(tmp_path / "pods.csv", pod_header, [pod_row]),
            _write(tmp_path / "storage.csv", storage_header, [storage_row]),
            _write(tmp_path / "gpu.csv", gpu_header, [gpu_row]),
        ],
        out,
        schema=SCHEMA,
        source_uuid=SOURCE,
    )
    pods = _tree(out, "pod_usage", 2027, 2, daily=True)
    assert pods.schema.field("node_role").type == koku_string and pods["node_role"].null_count == 1
    storage = _tree(out, "storage_usage", 2027, 2, daily=True)
    assert _types(storage, ["node", "csi_driver", "csi_volume_handle"]) == dict.fromkeys(
        ["node", "csi_driver", "csi_volume_handle"], koku_string
    )
    gpu = _tree(out, "gpu_usage", 2027, 2, daily=True)
    assert _types(gpu, ["mig_instance_id", "mig_profile", "mig_strategy", *MIG_NUMBERS]) == {
        "mig_instance_id": koku_string,
        "mig_profile": koku_string,
        "mig_strategy": koku_string,
        **dict.fromkeys(MIG_NUMBERS, koku_int),
    }
    assert "mig_profile" not in _tree(out, "gpu_usage", 2027, 2).column_names  # hourly: as in the CSV
    # columns the CSV has keep their type (pandas reads them as text)
    with_role = tmp_path / "with_role"
    convert(
        [_write(tmp_path / "pods2.csv", POD_HEADER, [pod_row + ",worker"])],
        with_role,
        schema=SCHEMA,
        source_uuid=SOURCE,
    )
    assert _tree(with_role, "pod_usage", 2027, 2, daily=True).schema.field("node_role").type == pa.string()


@pytest.mark.parametrize("daily", [False, True])
def test_no_nan_in_written_files(tmp_path: Path, daily: bool) -> None:
    rows = [
        f"{FEB},{_hour('2027-02-04', 0)},p1,ns1,n1,i-1,nan,1,1,1,1,1,nan,1,1,1,,",
        f"{FEB},{_hour('2027-02-04', 1)},p1,ns1,n1,i-1,NaN,1,1,1,1,1,nan,1,1,1,,",
        f"{FEB},{_hour('2027-02-04', 1)},p2,ns1,n1,i-1,2,1,1,1,1,1,3,1,1,1,,",
    ]
    out = tmp_path / "out"
    convert([_write(tmp_path / "pods.csv", POD_HEADER, rows)], out, schema=SCHEMA, source_uuid=SOURCE)
    table = _tree(out, "pod_usage", 2027, 2, daily=daily)
    for name in table.column_names:
        if pa.types.is_floating(table.schema.field(name).type):
            assert not pc.any(pc.is_nan(table[name])).as_py(), name
    p1 = {r["pod"]: r for r in table.to_pylist()}["p1"]
    if daily:
        assert p1["pod_usage_cpu_core_seconds"] == 0.0  # pandas: an all-NaN sum is 0.0
        assert p1["pod_effective_usage_cpu_core_seconds"] == 2.0  # max(NaN, 1) per hour
        assert p1["node_capacity_cpu_cores"] is None  # an all-NaN max: NaN, stored as NULL
    else:
        assert p1["pod_usage_cpu_core_seconds"] is None and p1["node_capacity_cpu_cores"] is None


@pytest.mark.parametrize("yaml_name", NISE_YAMLS)
def test_nise_daily_files_are_koku_group_by_bit_for_bit(nise_root_factory, yaml_name: str) -> None:  # noqa: F811
    made = nise_root_factory(yaml_name)
    parquet = made.root / "data" / "parquet"
    checked = 0
    for daily_file in sorted((parquet / "daily" / made.account / "OCP").rglob("*.parquet")):
        report_type = daily_file.relative_to(parquet / "daily" / made.account / "OCP").parts[0]
        stem = daily_file.name.removesuffix("_daily_0.parquet")
        hourly_dir = parquet / daily_file.parent.relative_to(parquet / "daily")
        hourly = pd.concat(
            [pq.read_table(f).to_pandas() for f in sorted(hourly_dir.glob(f"{stem}_*.parquet"))],
            ignore_index=True,
        )
        expected = _koku_daily(report_type, hourly)
        keys = [c for c in REPORT_DEFS[report_type].group_by if c in expected.columns] + ["interval_start"]
        sums = [c for c, how in REPORT_DEFS[report_type].agg if how == "sum" and c in expected.columns]
        if sums:  # koku's pandas 2.3.3 sums (the installed pandas may sum sorted groups pairwise)
            grouper = [*keys[:-1], pd.Grouper(key="interval_start", freq="D")]
            koku_sums = hourly.groupby(grouper, dropna=False)[sums].agg(_koku_group_sum).reset_index()
            expected = expected.drop(columns=sums).merge(koku_sums, on=keys, validate="1:1")
        actual = pq.read_table(daily_file).to_pandas()[list(expected.columns)]
        actual = actual.sort_values(keys, na_position="last").reset_index(drop=True)
        expected = expected.sort_values(keys, na_position="last").reset_index(drop=True)
        pd.testing.assert_frame_equal(actual, expected, check_dtype=False, check_exact=True)
        checked += 1
    assert checked >= 5 * len(made.days)
