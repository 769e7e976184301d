"""ocpagg.convert: operator CSV reports → koku's hourly and daily Parquet trees.

Hand-made CSVs per report type with the values koku's post-processor would write,
worked out here; error reporting; payloads; and nise output, whose daily tree must be
koku's pandas group-by of the hourly tree.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import tarfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from nisedata import NISE_DIR, NISE_YAMLS, nise_root_factory, run_nise  # noqa: F401
from ocpagg.convert import (
    FLOAT_COLUMNS,
    REPORT_DEFS,
    THRESHOLD_COLUMNS,
    ConvertError,
    add_convert_parser,
    convert,
    detect_report_type,
    labels_to_json,
    run_convert,
)

SOURCE = "0b4c9d2e-1111-4222-8333-944455556666"
SCHEMA = "org1234567"
TS = " +0000 UTC"
JAN = "2027-01-01 00:00:00 +0000 UTC,2027-02-01 00:00:00 +0000 UTC"
FEB = "2027-02-01 00:00:00 +0000 UTC,2027-03-01 00:00:00 +0000 UTC"


def _hour(day: str, h: int) -> str:
    return f"{day} {h:02d}:00:00{TS},{day} {h:02d}:59:59{TS}"


def _write(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def _tree(root: Path, report_type: str, year: int, month: int, *, daily: bool = False, account: str = SCHEMA):
    base = root / "data" / "parquet" / ("daily" if daily else "")
    folder = base / account / "OCP" / report_type / f"source={SOURCE}" / f"year={year}" / f"month={month:02d}"
    files = sorted(folder.glob("*.parquet"))
    if not files:
        return None
    return pa.concat_tables([pq.read_table(f) for f in files])


def _rows(table: pa.Table, *sort: str) -> list[dict]:
    return sorted(table.to_pylist(), key=lambda r: tuple(str(r[c]) for c in sort))


POD_HEADER = (
    "report_period_start,report_period_end,interval_start,interval_end,pod,namespace,node,resource_id,"
    "pod_usage_cpu_core_seconds,pod_request_cpu_core_seconds,pod_limit_cpu_core_seconds,"
    "pod_usage_memory_byte_seconds,pod_request_memory_byte_seconds,pod_limit_memory_byte_seconds,"
    "node_capacity_cpu_cores,node_capacity_cpu_core_seconds,node_capacity_memory_bytes,"
    "node_capacity_memory_byte_seconds,pod_labels,node_role"
)


def test_labels_to_json_follows_koku() -> None:
    assert labels_to_json("") == "{}"
    assert labels_to_json("label_app:web|label_team_label_x:y") == '{"app": "web", "team_x": "y"}'
    # entries without exactly one ':' are dropped; an empty value is kept
    assert labels_to_json("nocolon|a:b:c|label_empty:|k:v") == '{"empty": "", "k": "v"}'
    # a repeated key keeps its first position and takes the later value
    assert labels_to_json("label_k:1|x:2|k:3") == '{"k": "3", "x": "2"}'
    assert labels_to_json("label_é:ü") == '{"\\u00e9": "\\u00fc"}'


def test_detect_report_type() -> None:
    assert detect_report_type(POD_HEADER.split(",")) == "pod_usage"
    assert detect_report_type(POD_HEADER.split(",")[:-2]) is None
    for name, spec in REPORT_DEFS.items():
        assert detect_report_type(sorted(spec.columns)) == name


def test_pod_usage(tmp_path: Path) -> None:
    csv_path = _write(
        tmp_path / "pods.csv",
        POD_HEADER,
        [
            f"{JAN},{_hour('2027-01-31', 23)},p1,ns1,n1,i-1,10,20,30,2000000000,1000000000,4000000000,"
            "4,14400,8000000000,28800000000000,label_app:web|label_team_label_x:y|bad|a:b:c|label_empty:,worker",
            f"{FEB},{_hour('2027-02-01', 0)},p1,ns1,n1,i-1,,abc,1_000, 7,nan,,4,14400,8000000000,"
            '28800000000000,"",',
            f"{FEB},{_hour('2027-02-01', 1)},p2,ns1,n1,i-1,1e19,1,1,1,1,1,4,14400,8000000000,"
            "28800000000000,,",
            f"{FEB},{_hour('2027-02-01', 1)},p1,ns1,n1,i-1,5,3,8,100,300,400,4,14400,8000000000,"
            "28800000000000,,",
            f"{FEB},{_hour('2027-02-01', 2)},p3,ns1,n1,i-1,5,3,8,100,300,inf,4,14400,8000000000,"
            "28800000000000,,",
        ],
    )
    result = convert([csv_path], tmp_path / "out", schema=SCHEMA, source_uuid=SOURCE)
    (converted,) = result.files
    assert (converted.report_type, converted.rows_read, converted.rows_dropped) == ("pod_usage", 5, 2)
    assert result.days() == [dt.date(2027, 1, 31), dt.date(2027, 2, 1)]

    jan = _tree(tmp_path / "out", "pod_usage", 2027, 1)
    assert jan.schema.field("interval_start").type == pa.timestamp("ms")
    assert jan.schema.field("pod_usage_cpu_core_seconds").type == pa.float64()
    assert jan.column_names[-2:] == [
        "pod_effective_usage_cpu_core_seconds",
        "pod_effective_usage_memory_byte_seconds",
    ]
    assert jan.to_pylist() == [
        {
            "report_period_start": dt.datetime(2027, 1, 1),
            "report_period_end": dt.datetime(2027, 2, 1),
            "interval_start": dt.datetime(2027, 1, 31, 23),
            "interval_end": dt.datetime(2027, 1, 31, 23, 59, 59),
            "pod": "p1",
            "namespace": "ns1",
            "node": "n1",
            "resource_id": "i-1",
            "pod_usage_cpu_core_seconds": 10.0,
            "pod_request_cpu_core_seconds": 20.0,
            "pod_limit_cpu_core_seconds": 30.0,
            "pod_usage_memory_byte_seconds": 2e9,
            "pod_request_memory_byte_seconds": 1e9,
            "pod_limit_memory_byte_seconds": 4e9,
            "node_capacity_cpu_cores": 4.0,
            "node_capacity_cpu_core_seconds": 14400.0,
            "node_capacity_memory_bytes": 8e9,
            "node_capacity_memory_byte_seconds": 2.88e13,
            "pod_labels": '{"app": "web", "team_x": "y", "empty": ""}',
            "node_role": "worker",
            "pod_effective_usage_cpu_core_seconds": 20.0,
            "pod_effective_usage_memory_byte_seconds": 2e9,
        }
    ]
    feb = _rows(_tree(tmp_path / "out", "pod_usage", 2027, 2), "interval_start")
    assert len(feb) == 2  # the 1e19 and inf rows are gone
    empty = feb[0]
    assert empty["pod_usage_cpu_core_seconds"] == 0.0  # empty cell
    assert empty["pod_request_cpu_core_seconds"] == 0.0  # 'abc'
    assert empty["pod_limit_cpu_core_seconds"] == 1000.0  # Python float('1_000')
    assert empty["pod_usage_memory_byte_seconds"] == 7.0  # ' 7'
    assert empty["pod_request_memory_byte_seconds"] is None  # 'nan': NaN, which koku's files hold as NULL
    assert empty["pod_limit_memory_byte_seconds"] == 0.0
    assert empty["pod_labels"] == "{}"
    assert empty["node_role"] == ""
    assert empty["pod_effective_usage_cpu_core_seconds"] == 0.0

    daily = _tree(tmp_path / "out", "pod_usage", 2027, 2, daily=True)
    assert daily.column_names[:5] == ["namespace", "node", "pod", "pod_labels", "interval_start"]
    (p1,) = daily.to_pylist()
    assert p1["interval_start"] == dt.datetime(2027, 2, 1)
    assert p1["pod_usage_cpu_core_seconds"] == 5.0
    assert p1["pod_request_cpu_core_seconds"] == 3.0
    assert p1["pod_effective_usage_cpu_core_seconds"] == 5.0
    assert p1["pod_limit_cpu_core_seconds"] == 1008.0
    assert p1["pod_request_memory_byte_seconds"] == 300.0  # NaN skipped, as pandas does
    assert p1["pod_effective_usage_memory_byte_seconds"] == 7.0 + 300.0  # max(7, NaN) + max(100, 300)
    assert p1["node_capacity_cpu_cores"] == 4.0  # max
    assert p1["node_capacity_cpu_core_seconds"] == 28800.0  # sum of two hours
    assert p1["node_role"] == ""


STORAGE_HEADER = (
    "report_period_start,report_period_end,interval_start,interval_end,namespace,pod,node,"
    "persistentvolumeclaim,persistentvolume,storageclass,csi_driver,csi_volume_handle,"
    "persistentvolumeclaim_capacity_bytes,persistentvolumeclaim_capacity_byte_seconds,"
    "volume_request_storage_byte_seconds,persistentvolumeclaim_usage_byte_seconds,"
    "persistentvolume_labels,persistentvolumeclaim_labels"
)


def test_storage_usage(tmp_path: Path) -> None:
    rows = [
        f"{FEB},{_hour('2027-02-03', h)},ns1,p1,n1,pvc1,pv1,gp3,ebs.csi.aws.com,vol-1,"
        f"100,360000,{h + 1},,label_storage_label_tier:gold|label_app:db,label_app:db|label_x:a:b"
        for h in (0, 1)
    ]
    rows.append(f"{FEB},{_hour('2027-02-03', 2)},ns1,p1,n1,pvc1,pv1,gp3,ebs.csi.aws.com,vol-1,2e18,1,1,1,,")
    rows.append(f"{FEB},{_hour('2027-02-03', 3)},ns1,,,pvc2,pv2,,,,5,18000,,,,")
    out = tmp_path / "out"
    result = convert(
        [_write(tmp_path / "storage.csv", STORAGE_HEADER, rows)], out, schema=SCHEMA, source_uuid=SOURCE
    )
    assert (result.files[0].report_type, result.files[0].rows_dropped) == ("storage_usage", 1)
    hourly = _rows(_tree(out, "storage_usage", 2027, 2), "interval_start")
    assert [r["persistentvolume_labels"] for r in hourly] == ['{"storage_tier": "gold", "app": "db"}'] * 2 + [
        "{}"
    ]
    assert [r["persistentvolumeclaim_labels"] for r in hourly] == ['{"app": "db"}'] * 2 + ["{}"]
    assert [r["volume_request_storage_byte_seconds"] for r in hourly] == [1.0, 2.0, 0.0]
    assert [r["persistentvolumeclaim_usage_byte_seconds"] for r in hourly] == [0.0, 0.0, 0.0]
    assert hourly[2]["node"] == "" and hourly[2]["csi_volume_handle"] == ""

    daily = _rows(_tree(out, "storage_usage", 2027, 2, daily=True), "persistentvolumeclaim")
    assert daily[0] == {
        "namespace": "ns1",
        "node": "n1",
        "pod": "p1",
        "persistentvolumeclaim": "pvc1",
        "persistentvolume": "pv1",
        "storageclass": "gp3",
        "csi_driver": "ebs.csi.aws.com",
        "csi_volume_handle": "vol-1",
        "persistentvolume_labels": '{"storage_tier": "gold", "app": "db"}',
        "persistentvolumeclaim_labels": '{"app": "db"}',
        "interval_start": dt.datetime(2027, 2, 3),
        "report_period_start": dt.datetime(2027, 2, 1),
        "report_period_end": dt.datetime(2027, 3, 1),
        "persistentvolumeclaim_capacity_bytes": 100.0,
        "persistentvolumeclaim_capacity_byte_seconds": 720000.0,
        "volume_request_storage_byte_seconds": 3.0,
        "persistentvolumeclaim_usage_byte_seconds": 0.0,
    }
    assert (
        daily[1]["persistentvolumeclaim"] == "pvc2"
        and daily[1]["persistentvolumeclaim_capacity_bytes"] == 5.0
    )


def test_storage_usage_old_format_gets_koku_new_columns_in_daily(tmp_path: Path) -> None:
    header = STORAGE_HEADER.replace("node,", "").replace("csi_driver,csi_volume_handle,", "")
    row = f"{FEB},{_hour('2027-02-03', 0)},ns1,p1,pvc1,pv1,gp3,100,360000,1,2,,"
    out = tmp_path / "out"
    convert([_write(tmp_path / "old.csv", header, [row])], out, schema=SCHEMA, source_uuid=SOURCE)
    assert "node" not in _tree(out, "storage_usage", 2027, 2).column_names
    daily = _tree(out, "storage_usage", 2027, 2, daily=True)
    assert daily.column_names[-3:] == ["node", "csi_driver", "csi_volume_handle"]
    assert daily.to_pylist()[0]["node"] is None


def test_node_and_namespace_labels(tmp_path: Path) -> None:
    node_rows = [
        f"{FEB},{_hour('2027-02-05', h)},n1,"
        "label_node_role_kubernetes_io_master:|label_kubernetes_io_hostname:n1|nocolon|x:y:z|label_a_label_b:c"
        for h in range(3)
    ]
    node_rows.append(f"{FEB},{_hour('2027-02-05', 3)},n1,label_kubernetes_io_hostname:n1")
    node_rows.append(f"{FEB},{_hour('2027-02-05', 3)},n2,")
    ns_rows = [f"{FEB},{_hour('2027-02-05', h)},ns-a,label_team:blue|label_label_:odd" for h in range(2)]
    out = tmp_path / "out"
    convert(
        [
            _write(
                tmp_path / "nodes.csv",
                "report_period_start,report_period_end,interval_start,interval_end,node,node_labels",
                node_rows,
            ),
            _write(
                tmp_path / "ns.csv",
                "report_period_start,report_period_end,interval_start,interval_end,"
                "namespace,namespace_labels",
                ns_rows,
            ),
        ],
        out,
        schema=SCHEMA,
        source_uuid=SOURCE,
    )
    master = '{"node_role_kubernetes_io_master": "", "kubernetes_io_hostname": "n1", "a_b": "c"}'
    hourly = _tree(out, "node_labels", 2027, 2)
    assert hourly["node_labels"].to_pylist() == [master] * 3 + ['{"kubernetes_io_hostname": "n1"}', "{}"]
    daily = _rows(_tree(out, "node_labels", 2027, 2, daily=True), "node", "node_labels")
    assert [(r["node"], r["node_labels"], r["interval_start"]) for r in daily] == [
        ("n1", '{"kubernetes_io_hostname": "n1"}', dt.datetime(2027, 2, 5)),
        ("n1", master, dt.datetime(2027, 2, 5)),
        ("n2", "{}", dt.datetime(2027, 2, 5)),
    ]
    assert _tree(out, "namespace_labels", 2027, 2, daily=True).to_pylist() == [
        {
            "namespace": "ns-a",
            "namespace_labels": '{"team": "blue", "": "odd"}',
            "interval_start": dt.datetime(2027, 2, 5),
            "report_period_start": dt.datetime(2027, 2, 1),
            "report_period_end": dt.datetime(2027, 3, 1),
        }
    ]


VM_HEADER = (
    "report_period_start,report_period_end,interval_start,interval_end,node,resource_id,namespace,vm_name,"
    "vm_instance_type,vm_os,vm_guest_os_arch,vm_guest_os_name,vm_guest_os_version,vm_uptime_total_seconds,"
    "vm_cpu_limit_cores,vm_cpu_limit_core_seconds,vm_cpu_request_cores,vm_cpu_request_core_seconds,"
    "vm_cpu_request_sockets,vm_cpu_request_socket_seconds,vm_cpu_request_threads,vm_cpu_request_thread_seconds,"
    "vm_cpu_usage_total_seconds,vm_memory_limit_bytes,vm_memory_limit_byte_seconds,vm_memory_request_bytes,"
    "vm_memory_request_byte_seconds,vm_memory_usage_byte_seconds,vm_device,vm_volume_mode,"
    "vm_persistentvolumeclaim_name,vm_disk_allocated_size_byte_seconds,vm_labels"
)


def test_vm_usage(tmp_path: Path) -> None:
    rows = [
        f"{FEB},{_hour('2027-02-07', h)},n1,i-1,ns1,vm1,u1.small,rhel.9,x86_64,RHEL,9.5,3600,"
        f"2,7200,1,3600,1,3600,1,3600,{100 * (h + 1)},4,14400,2,7200,{h},rootdisk,Block,pvc-vm1,,"
        "label_vm_kubevirt_io_name:vm1|label_app:erp"
        for h in range(2)
    ]
    out = tmp_path / "out"
    convert([_write(tmp_path / "vm.csv", VM_HEADER, rows)], out, schema=SCHEMA, source_uuid=SOURCE)
    hourly = _tree(out, "vm_usage", 2027, 2)
    assert hourly["vm_labels"][0].as_py() == '{"vm_kubevirt_io_name": "vm1", "app": "erp"}'
    assert hourly["vm_disk_allocated_size_byte_seconds"].to_pylist() == [0.0, 0.0]
    assert hourly["vm_guest_os_version"].to_pylist() == ["9.5", "9.5"]
    (daily,) = _tree(out, "vm_usage", 2027, 2, daily=True).to_pylist()
    assert daily["vm_cpu_usage_total_seconds"] == 300.0
    assert daily["vm_cpu_limit_cores"] == 2.0
    assert daily["vm_uptime_total_seconds"] == 7200.0
    assert daily["vm_memory_usage_byte_seconds"] == 1.0
    assert daily["vm_persistentvolumeclaim_name"] == "pvc-vm1"


GPU_HEADER = (
    "report_period_start,report_period_end,interval_start,interval_end,node,namespace,pod,gpu_uuid,"
    "gpu_model_name,gpu_vendor_name,gpu_memory_capacity_mib,gpu_pod_uptime,mig_instance_id,mig_profile,mig_strategy"
)


def test_gpu_usage(tmp_path: Path) -> None:
    rows = [
        f"{FEB},{_hour('2027-02-09', 0)},n1,ns,p1,GPU-1,NVIDIA A100-SXM4-40GB,nvidia_com_gpu,40960,3600,"
        "MIG-1,1g.5gb,mixed",
        f"{FEB},{_hour('2027-02-09', 0)},n1,ns,p2,GPU-2,Acme X9,nvidia_com_gpu,1024,3600,"
        "MIG-9,2g.10gb,single",
        f"{FEB},{_hour('2027-02-09', 0)},n1,ns,p3,GPU-3,Tesla T4,amd_com_gpu,15360,1800,,,",
        f"{FEB},{_hour('2027-02-09', 1)},n1,ns,p3,GPU-3,Tesla T4,amd_com_gpu,15360,1200,,,",
    ]
    out = tmp_path / "out"
    convert([_write(tmp_path / "gpu.csv", GPU_HEADER, rows)], out, schema=SCHEMA, source_uuid=SOURCE)
    hourly = _rows(_tree(out, "gpu_usage", 2027, 2), "pod", "interval_start")
    mig, unknown, plain, _ = hourly
    assert (mig["gpu_model_name"], mig["gpu_vendor_name"]) == ("NVIDIA A100 SXM4 40GB", "nvidia")
    assert (mig["mig_slice_count"], mig["mig_memory_capacity_mib"], mig["gpu_max_slices"]) == (
        1.0,
        5120.0,
        7.0,
    )
    assert (mig["mig_profile"], mig["mig_strategy"], mig["mig_instance_id"]) == ("1g.5gb", "mixed", "MIG-1")
    # an unknown model: koku clears every MIG field and treats the GPU as dedicated
    assert [unknown[c] for c in ("mig_instance_id", "mig_profile", "mig_strategy", "mig_slice_count")] == [
        None
    ] * 4
    assert unknown["gpu_max_slices"] is None and unknown["mig_memory_capacity_mib"] is None
    assert (plain["gpu_vendor_name"], plain["mig_profile"], plain["mig_slice_count"]) == (
        "amd_com_gpu",
        "",
        None,
    )
    daily = _rows(_tree(out, "gpu_usage", 2027, 2, daily=True), "pod")
    assert [r["gpu_pod_uptime"] for r in daily] == [3600.0, 3600.0, 3000.0]
    assert daily[2]["mig_slice_count"] is None  # koku's nullable integers: NULL, not NaN


def test_bad_timestamp_names_file_and_line(tmp_path: Path) -> None:
    rows = [f"{JAN},{_hour('2027-01-31', h)},n1,{{}}" for h in range(3)]
    rows.insert(0, "")  # a blank line is skipped but still counts as a line
    rows[2] = f"{JAN},2027-01-31 25:00:00 +0000 UTC,2027-01-31 01:59:59 +0000 UTC,n1,"
    path = _write(
        tmp_path / "nodes.csv",
        "report_period_start,report_period_end,interval_start,interval_end,node,node_labels",
        rows,
    )
    with pytest.raises(ConvertError, match=r"nodes\.csv: line 4: column interval_start: malformed timestamp"):
        convert([path], tmp_path / "out", schema=SCHEMA, source_uuid=SOURCE)
    assert issubclass(ConvertError, ValueError)


def test_bad_timestamp_in_a_later_block(tmp_path: Path) -> None:
    rows = [f"{JAN},{_hour('2027-01-31', h % 24)},n{h},{{}}" for h in range(5000)]
    rows[4321] = rows[4321].replace("2027-01-31 ", "2027-01-31T", 1).replace(",n4321", ",n4321") + ""
    rows[4500] = f"{JAN},yesterday,2027-01-31 01:59:59 +0000 UTC,n1,"
    path = _write(
        tmp_path / "big.csv",
        "report_period_start,report_period_end,interval_start,interval_end,node,node_labels",
        rows,
    )
    with pytest.raises(ConvertError, match=r"big\.csv: line 4502: column interval_start: .*'yesterday'"):
        convert([path], tmp_path / "out", schema=SCHEMA, source_uuid=SOURCE, block_bytes=16 << 10)
    assert not list((tmp_path / "out").rglob("*.parquet"))  # no partial output


def test_wrong_column_count_names_file_and_line(tmp_path: Path) -> None:
    rows = [f"{JAN},{_hour('2027-01-31', h)},n1," for h in range(4)]
    rows[2] += ",extra"
    path = _write(
        tmp_path / "nodes.csv",
        "report_period_start,report_period_end,interval_start,interval_end,node,node_labels",
        rows,
    )
    with pytest.raises(ConvertError, match=r"nodes\.csv: line 4: 7 fields, expected 6"):
        convert([path], tmp_path / "out", schema=SCHEMA, source_uuid=SOURCE)


def test_unknown_header_names_file(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "ros.csv", "interval_start,interval_end,container_name,cpu_usage_container_avg", []
    )
    with pytest.raises(ConvertError, match=r"ros\.csv: unknown report header"):
        convert([path], tmp_path / "out", schema=SCHEMA, source_uuid=SOURCE)
    with pytest.raises(ConvertError, match="no such file"):
        convert([tmp_path / "missing.csv"], tmp_path / "out", schema=SCHEMA, source_uuid=SOURCE)


def test_header_only_file_writes_nothing(tmp_path: Path) -> None:
    path = _write(tmp_path / "gpu.csv", GPU_HEADER, [])
    result = convert([path], tmp_path / "out", schema=SCHEMA, source_uuid=SOURCE)
    assert (result.files[0].report_type, result.files[0].rows_read, result.days()) == ("gpu_usage", 0, [])
    assert not list((tmp_path / "out").rglob("*.parquet"))


def _payload(path: Path, files: dict[str, str], ros: dict[str, str]) -> Path:
    manifest = {
        "uuid": "9d7c5e1a-0000-4000-8000-000000000001",
        "cluster_id": "my-cluster",
        "version": "4.0.0",
        "date": "2027-02-05T00:00:00Z",
        "files": list(files),
        "resource_optimization_files": list(ros),
    }
    with tarfile.open(path, "w:gz") as tar:
        for name, text in {"manifest.json": json.dumps(manifest), **files, **ros}.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_operator_payload_and_acct_schema(tmp_path: Path) -> None:
    nodes = (
        "report_period_start,report_period_end,interval_start,interval_end,node,node_labels\n"
        + "\n".join(f"{FEB},{_hour('2027-02-05', h)},n1,label_a:1" for h in range(24))
    )
    ros = "interval_start,interval_end,container_name,cpu_usage_container_avg\n"
    payload = _payload(
        tmp_path / "payload.tar.gz", {"abc_openshift_report.0.csv": nodes}, {"abc_ros.1.csv": ros}
    )
    out = tmp_path / "out"
    result = convert([payload], out, schema="acct10001", source_uuid=SOURCE)
    assert result.account == "10001"
    assert [f.report_type for f in result.files] == ["node_labels"]
    assert "payload.tar.gz!abc_openshift_report.0.csv" in result.files[0].source
    table = _tree(out, "node_labels", 2027, 2, account="10001")
    assert table.num_rows == 24
    assert set(table["node_labels"].to_pylist()) == {'{"a": "1"}'}
    # converting the same payload again rewrites the same files: no duplicates
    again = convert([payload], out, schema="acct10001", source_uuid=SOURCE)
    assert again.files[0].hourly_files == result.files[0].hourly_files
    assert _tree(out, "node_labels", 2027, 2, account="10001").num_rows == 24


def test_directory_input_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in" / "sub"
    src.mkdir(parents=True)
    _write(
        src / "ns.csv",
        "report_period_start,report_period_end,interval_start,interval_end,namespace,namespace_labels",
        [f"{FEB},{_hour('2027-02-28', 23)},ns1,label_k:v"],
    )
    parser = argparse.ArgumentParser()
    add_convert_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "convert",
            str(tmp_path / "in"),
            "--output",
            str(tmp_path / "out"),
            "--schema",
            SCHEMA,
            "--source",
            SOURCE,
        ]
    )
    assert args.func(args) == 0
    assert _tree(tmp_path / "out", "namespace_labels", 2027, 2).num_rows == 1
    bad = parser.parse_args(
        [
            "convert",
            str(tmp_path / "nope"),
            "--output",
            str(tmp_path / "out"),
            "--schema",
            SCHEMA,
            "--source",
            SOURCE,
        ]
    )
    with pytest.raises(ConvertError, match="nope: no such file or directory"):
        run_convert(bad)  # raises; the main CLI prints it
    from ocpagg.cli import main

    argv = ["convert", str(tmp_path / "nope"), "--output", str(tmp_path / "out")]
    assert main([*argv, "--schema", SCHEMA, "--source", SOURCE]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"ocpagg: error: {tmp_path / 'nope'}: no such file or directory"


def test_small_blocks_give_the_same_files(tmp_path: Path) -> None:
    rows = []
    for day in ("2027-01-30", "2027-01-31", "2027-02-01"):
        for h in range(24):
            for p in range(30):
                rows.append(
                    f"{JAN if day < '2027-02' else FEB},{_hour(day, h)},pod{p},ns{p % 4},node{p % 3},"
                    f"i-{p % 3},{p + h * 0.5},{p},2,{p * 1e6},{h * 1e6},3e6,8,28800,1e10,3.6e13,"
                    f"label_app:a{p % 5}|label_p:{p},"
                )
    path = _write(tmp_path / "pods.csv", POD_HEADER, rows)
    big = convert([path], tmp_path / "a", schema=SCHEMA, source_uuid=SOURCE)
    small = convert(
        [path], tmp_path / "b", schema=SCHEMA, source_uuid=SOURCE, block_bytes=8 << 10, flush_rows=50
    )
    assert len(small.files[0].hourly_files) > 4 * 3  # many chunk files per day, partial sums combined
    assert len(big.files[0].hourly_files) == 3
    assert big.rows_written == small.rows_written == len(rows)
    for month in (1, 2):
        for daily in (False, True):
            a = _tree(tmp_path / "a", "pod_usage", 2027, month, daily=daily)
            b = _tree(tmp_path / "b", "pod_usage", 2027, month, daily=daily)
            key = ["interval_start", "namespace", "node", "pod"]
            a, b = (t.sort_by([(k, "ascending") for k in key]) for t in (a, b))
            if daily:  # sums in another order: equal to the last bits
                pd.testing.assert_frame_equal(a.to_pandas(), b.to_pandas(), rtol=1e-12, atol=0)
            else:
                assert a.equals(b)
    assert _tree(tmp_path / "a", "pod_usage", 2027, 1, daily=True).num_rows == 60


# ---------------------------------------------------------------------------
# nise


def _koku_daily(report_type: str, hourly: pd.DataFrame) -> pd.DataFrame:
    """koku's OCPPostProcessor._generate_daily_data, restated with pandas."""
    spec = REPORT_DEFS[report_type]
    group_by = [c for c in spec.group_by if c in hourly.columns]
    aggs = {c: [how] for c, how in spec.agg if c in hourly.columns}
    frame = hourly.groupby([*group_by, pd.Grouper(key="interval_start", freq="D")], dropna=False).agg(aggs)
    frame.columns = frame.columns.droplevel(1)
    return frame.reset_index()


def _assert_frames_equal(actual: pd.DataFrame, expected: pd.DataFrame, keys: list[str]) -> None:
    assert sorted(actual.columns[: len(expected.columns)]) == sorted(expected.columns)
    actual = actual[list(expected.columns)].sort_values(keys, na_position="last").reset_index(drop=True)
    expected = expected.sort_values(keys, na_position="last").reset_index(drop=True)
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False, rtol=1e-12, atol=0)


@pytest.mark.parametrize("yaml_name", NISE_YAMLS)
def test_nise_daily_tree_is_koku_group_by_of_hourly(nise_root_factory, yaml_name: str) -> None:  # noqa: F811
    made = nise_root_factory(yaml_name)
    parquet = made.root / "data" / "parquet"
    checked = 0
    for daily_file in sorted((parquet / "daily" / made.account / "OCP").rglob("*.parquet")):
        report_type = daily_file.relative_to(parquet / "daily" / made.account / "OCP").parts[0]
        stem = daily_file.name.removesuffix("_daily_0.parquet")
        hourly_dir = parquet / daily_file.parent.relative_to(parquet / "daily")
        hourly_files = sorted(hourly_dir.glob(f"{stem}_*.parquet"))
        assert hourly_files
        hourly = pd.concat([pq.read_table(f).to_pandas() for f in hourly_files], ignore_index=True)
        day = hourly["interval_start"].dt.floor("D")
        assert day.nunique() == 1  # one file set per day
        assert hourly_dir.name == f"month={day.iloc[0].month:02d}"
        assert hourly_dir.parent.name == f"year={day.iloc[0].year}"
        expected = _koku_daily(report_type, hourly)
        keys = [c for c in REPORT_DEFS[report_type].group_by if c in expected.columns] + ["interval_start"]
        _assert_frames_equal(pq.read_table(daily_file).to_pandas(), expected, keys)
        checked += 1
    types = {p.name for p in (parquet / made.account / "OCP").iterdir()}
    assert {"pod_usage", "storage_usage", "node_labels", "namespace_labels", "vm_usage"} <= types
    assert checked >= 5 * len(made.days)


@pytest.mark.parametrize("yaml_name", NISE_YAMLS)
def test_nise_hourly_rows_match_the_csvs(nise_root_factory, yaml_name: str) -> None:  # noqa: F811
    made = nise_root_factory(yaml_name)
    pods = pd.concat(
        [
            pd.read_csv(p, dtype=str, keep_default_na=False)
            for p in sorted(made.csv_dir.glob("*pod_usage*.csv"))
        ]
    )
    hourly = _tree_all(made.root / "data" / "parquet" / made.account / "OCP" / "pod_usage")
    assert hourly.num_rows == len(pods)
    assert sorted(hourly["pod_usage_cpu_core_seconds"].to_pylist()) == sorted(
        float(v) for v in pods["pod_usage_cpu_core_seconds"]
    )
    labels = {json.loads(v).get("vm_kubevirt_io_name") for v in hourly["pod_labels"].to_pylist()} - {None}
    assert labels  # every YAML has kubevirt VM pods
    assert "openshift-kube-apiserver" in set(hourly["namespace"].to_pylist())
    assert {role for _, _, role in made.node_roles} <= {"master", "infra", "worker"}
    assert "master" in {role for _, _, role in made.node_roles}


def test_nise_yamls_cover_the_cases(nise_root_factory) -> None:  # noqa: F811
    assert len(NISE_YAMLS) >= 3
    made = [nise_root_factory(name) for name in NISE_YAMLS]
    assert {role for m in made for _, _, role in m.node_roles} == {"master", "infra", "worker"}
    assert any(m.start_date.month != m.end_date.month for m in made)  # a month end
    assert any(m.start_date.month == 2 for m in made)  # February


def _tree_all(folder: Path) -> pa.Table:
    return pa.concat_tables([pq.read_table(p) for p in sorted(folder.rglob("*.parquet"))])


def test_nise_is_deterministic(tmp_path: Path) -> None:
    yaml_path = NISE_DIR / "spring.yaml"
    first = run_nise(yaml_path, tmp_path / "a", cluster_id="c")
    second = run_nise(yaml_path, tmp_path / "b", cluster_id="c")
    assert [p.name for p in first] == [p.name for p in second]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(first, second, strict=True))


# koku's conversion restated with pandas, the way its post-processor reads a CSV
_KOKU_TIMESTAMPS = ("report_period_start", "report_period_end", "interval_start", "interval_end")
_KOKU_LABELS = {
    "pod_labels",
    "persistentvolume_labels",
    "persistentvolumeclaim_labels",
    "node_labels",
    "namespace_labels",
    "vm_labels",
}
_KOKU_THRESHOLD = 1e18


def _koku_float(value: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _koku_labels(value: str) -> str:
    out = {}
    for entry in value.split("|") if value else []:
        if ":" not in entry:
            continue
        try:
            key, val = entry.split(":")
        except ValueError:
            continue
        out[key.replace("label_", "")] = val
    return json.dumps(out)


def _koku_hourly(path: Path, report_type: str) -> pd.DataFrame:
    columns = pd.read_csv(path, nrows=0).columns
    converters = {}
    for name in columns:
        if name in _KOKU_TIMESTAMPS:
            converters[name] = lambda v: dt.datetime.fromisoformat(str(v).replace(" +0000 UTC", ""))
        elif name in FLOAT_COLUMNS:
            converters[name] = _koku_float
        elif name in _KOKU_LABELS:
            converters[name] = _koku_labels
        else:
            converters[name] = str
    # keep_default_na=False: pandas 2's C parser hands converters '' and keeps their result
    frame = pd.read_csv(path, converters=converters, keep_default_na=False, na_values=[])
    present = [c for c in THRESHOLD_COLUMNS if c in frame.columns]
    if present:
        frame = frame.loc[~(frame[present] > _KOKU_THRESHOLD).any(axis=1)].copy()
    if report_type == "pod_usage":
        frame["pod_effective_usage_cpu_core_seconds"] = frame[
            ["pod_usage_cpu_core_seconds", "pod_request_cpu_core_seconds"]
        ].max(axis=1)
        frame["pod_effective_usage_memory_byte_seconds"] = frame[
            ["pod_usage_memory_byte_seconds", "pod_request_memory_byte_seconds"]
        ].max(axis=1)
    if report_type == "gpu_usage":
        frame["gpu_vendor_name"] = frame["gpu_vendor_name"].replace("nvidia_com_gpu", "nvidia")
        model = frame["gpu_model_name"].str.replace(r"[^a-zA-Z0-9]+", " ", regex=True)
        frame["gpu_model_name"] = model.str.strip()
    return frame


@pytest.mark.parametrize("yaml_name", NISE_YAMLS)
def test_nise_hourly_tree_is_koku_conversion_of_the_csvs(nise_root_factory, yaml_name: str) -> None:  # noqa: F811
    made = nise_root_factory(yaml_name)
    compared = 0
    for converted in made.files:
        if not converted.rows_read:
            continue
        expected = _koku_hourly(Path(converted.source), converted.report_type)
        actual = pd.concat([pq.read_table(p).to_pandas() for p in converted.hourly_files], ignore_index=True)
        if converted.report_type == "gpu_usage":  # MIG fields are derived; test_gpu_usage checks them
            expected = expected.drop(columns=["mig_instance_id", "mig_profile", "mig_strategy"])
            actual = actual[list(expected.columns)]
        assert list(actual.columns) == list(expected.columns)
        for name in _KOKU_TIMESTAMPS:
            actual[name] = actual[name].astype("datetime64[ns]")
            expected[name] = expected[name].astype("datetime64[ns]")
        order = ("interval_start", "namespace", "node", "pod", "persistentvolumeclaim", "vm_name", "gpu_uuid")
        keys = [c for c in order if c in expected.columns]
        actual = actual.sort_values(keys, kind="stable").reset_index(drop=True)
        expected = expected.sort_values(keys, kind="stable").reset_index(drop=True)
        pd.testing.assert_frame_equal(actual, expected, check_dtype=False, check_exact=True)
        compared += len(expected)
    assert compared > 500


def test_nise_operator_payloads_convert_like_the_csvs(tmp_path: Path) -> None:
    yaml_path = NISE_DIR / "spring.yaml"
    upload = tmp_path / "upload"
    csvs = run_nise(yaml_path, tmp_path / "csv", cluster_id="payload-cluster", insights_upload=upload)
    (payload_dir,) = [p.parent for p in upload.rglob("manifest.json")]
    tarball = tmp_path / "payload.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        for member in sorted(payload_dir.iterdir()):
            tar.add(member, arcname=member.name)

    from_csvs = convert(csvs, tmp_path / "a", schema=SCHEMA, source_uuid=SOURCE)
    from_dir = convert([upload], tmp_path / "b", schema=SCHEMA, source_uuid=SOURCE)
    from_tar = convert([tarball], tmp_path / "c", schema=SCHEMA, source_uuid=SOURCE)
    assert len(from_dir.files) == len(from_tar.files) == len(csvs) == 6
    for result in (from_dir, from_tar):
        assert result.rows_written == from_csvs.rows_written > 1000
        for report_type in ("pod_usage", "storage_usage", "node_labels", "namespace_labels", "vm_usage"):
            for daily in (False, True):
                want = _tree(tmp_path / "a", report_type, 2027, 3, daily=daily)
                have = _tree(result.root, report_type, 2027, 3, daily=daily)
                keys = [(c, "ascending") for c in want.column_names if not c.endswith("seconds")]
                assert have.sort_by(keys).equals(want.sort_by(keys)), (report_type, daily)


def test_gzipped_csv(tmp_path: Path) -> None:
    import gzip

    text = (
        "report_period_start,report_period_end,interval_start,interval_end,namespace,namespace_labels\n"
        + "\n".join(f"{FEB},{_hour('2027-02-10', h)},ns1,label_k:v{h % 2}" for h in range(24))
        + "\n"
    )
    path = tmp_path / "ns.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    result = convert([path], tmp_path / "out", schema=SCHEMA, source_uuid=SOURCE)
    assert result.files[0].report_type == "namespace_labels"
    daily = _tree(tmp_path / "out", "namespace_labels", 2027, 2, daily=True)
    assert sorted(daily["namespace_labels"].to_pylist()) == ['{"k": "v0"}', '{"k": "v1"}']
    assert ".ns." in result.files[0].hourly_files[0].name


def test_operator_strings_are_sanitized_like_koku_ingest(tmp_path: Path) -> None:
    # koku's ingest (kafka_msg_handler.get_data_frame) drops NUL and HTML-escapes these columns
    row = f'{FEB},{_hour("2027-02-11", 0)},"a<b>&\'c""\x00",ns,n1,i-1,1,1,1,1,1,1,1,1,1,1,label_x:<y>,'
    out = tmp_path / "out"
    convert([_write(tmp_path / "pods.csv", POD_HEADER, [row])], out, schema=SCHEMA, source_uuid=SOURCE)
    (hourly,) = _tree(out, "pod_usage", 2027, 2).to_pylist()
    assert hourly["pod"] == "a&lt;b&gt;&amp;&#x27;c&quot;"
    assert hourly["pod_labels"] == '{"x": "<y>"}'  # label columns are not sanitized
