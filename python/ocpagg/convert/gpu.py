"""koku's GPU clean-up: vendor and model names, and the MIG fields it derives from the profile."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

GPU_MAX_SLICES_BY_MODEL = {
    "A30": 4,
    "A100": 7,
    "H100": 7,
    "H200": 7,
    "B200": 7,
    "RTX PRO 6000": 4,
    "RTX PRO 5000": 2,
}
# The MIG columns koku adds when a report has MIG rows, with the type its files give them when
# derived (whole numbers and NULLs: int64) — a column the CSV already has keeps its own type.
MIG_COLUMN_TYPES = {
    "mig_slice_count": pa.int64(),
    "mig_memory_capacity_mib": pa.int64(),
    "gpu_max_slices": pa.int64(),
    "mig_strategy": pa.string(),
}
_CLEARED = (
    "mig_profile",
    "mig_slice_count",
    "mig_memory_capacity_mib",
    "gpu_max_slices",
    "mig_strategy",
    "mig_instance_id",
)
_NULL, _SEP = "\x00null", "\x1f"

MigValues = tuple[int | None, int | None, int | None, bool]


def parse_mig_profile(profile: str | None) -> tuple[int | None, int | None]:
    """(slice count, memory MiB) of a ``{n}g.{m}gb`` profile, or (None, None)."""
    text = (profile or "").strip().lower()
    parts = text.split(".")
    if len(parts) != 2 or not parts[0].endswith("g") or not parts[1].endswith("gb"):
        return None, None
    try:
        return int(parts[0][:-1]), int(parts[1][:-2]) * 1024
    except ValueError:
        return None, None


def max_slices_of_model(model: str | None) -> int | None:
    """The MIG slices of a GPU model (exact name first, then a known name within it), or None."""
    if not model:
        return None
    upper = model.upper().strip()
    found = GPU_MAX_SLICES_BY_MODEL.get(upper)
    if found is None:
        found = next((v for k, v in GPU_MAX_SLICES_BY_MODEL.items() if k in upper), None)
    return found


def derive_mig(profile: str | None, model: str | None, max_slices: str | None) -> MigValues:
    """(slice count, memory MiB, max slices, clear?) of one MIG row, as koku derives them.

    A row whose max slices are neither given nor known from its model loses its MIG fields.
    """
    slices, memory = parse_mig_profile(profile)
    if max_slices is not None:
        return slices, memory, None, False
    found = max_slices_of_model(model)
    return slices, memory, found, found is None


def _clean_names(table: pa.Table) -> pa.Table:
    names = table.column_names
    if "gpu_vendor_name" in names:
        col = table["gpu_vendor_name"]
        col = pc.if_else(pc.equal(col, "nvidia_com_gpu"), pa.scalar("nvidia"), col)
        table = table.set_column(names.index("gpu_vendor_name"), "gpu_vendor_name", col)
    if "gpu_model_name" in names:
        col = pc.utf8_trim_whitespace(
            pc.replace_substring_regex(table["gpu_model_name"], "[^a-zA-Z0-9]+", " ")
        )
        table = table.set_column(names.index("gpu_model_name"), "gpu_model_name", col)
    return table


def gpu_fixups(table: pa.Table) -> pa.Table:
    """koku's GPU clean-up of typed hourly rows; rows without MIG keep their values."""
    table = _clean_names(table)
    names = table.column_names
    if "mig_profile" not in names:
        return table
    for name, typ in MIG_COLUMN_TYPES.items():
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(table.num_rows, typ))
    profile = table["mig_profile"].combine_chunks()
    has_mig = pc.fill_null(pc.not_equal(profile, ""), False)
    if not pc.any(has_mig).as_py():
        return table
    # The derived values per distinct (profile, model, given max slices), taken back to the rows.
    model = table["gpu_model_name"].combine_chunks() if "gpu_model_name" in names else pa.nulls(len(profile))
    given = table["gpu_max_slices"].combine_chunks()
    parts = [profile, pc.cast(model, pa.string()), pc.cast(given, pa.string())]
    keys = pc.binary_join_element_wise(*[pc.fill_null(p, _NULL) for p in parts], _SEP)
    uniq = pc.unique(keys)
    idx = pc.index_in(keys, value_set=uniq)
    derived = [derive_mig(*[None if v == _NULL else v for v in u.split(_SEP)]) for u in uniq.to_pylist()]
    slices = pc.take(pa.array([d[0] for d in derived], pa.int64()), idx)
    memory = pc.take(pa.array([d[1] for d in derived], pa.int64()), idx)
    maxes = pc.take(pa.array([d[2] for d in derived], pa.int64()), idx)
    clear = pc.and_(has_mig, pc.take(pa.array([d[3] for d in derived], pa.bool_()), idx))

    def replace(name: str, where: pa.Array, values: pa.Array) -> None:
        nonlocal table
        current = table[name].combine_chunks()
        merged = pc.if_else(where, values.cast(current.type), current)
        table = table.set_column(table.column_names.index(name), name, merged)

    replace("mig_slice_count", pc.and_(has_mig, pc.is_valid(slices)), slices)
    replace("mig_memory_capacity_mib", pc.and_(has_mig, pc.is_valid(memory)), memory)
    replace("gpu_max_slices", pc.and_(has_mig, pc.is_valid(maxes)), maxes)
    for name in _CLEARED:
        if name in table.column_names:
            typ = table[name].type
            replace(name, clear, pa.nulls(table.num_rows, typ))
    return table


MIG_NUMBERS = ("mig_slice_count", "mig_memory_capacity_mib", "gpu_max_slices")


def daily_mig_types(daily: pa.Table) -> pa.Table:
    """The MIG numbers of a day's daily rows typed as koku's files have them.

    koku's pandas holds derived MIG numbers in an object column, whose group maximum comes out as
    float64: a day with MIG values has them as double (NULL where a group has none). A day
    without any keeps int64 NULLs, the type koku gives the columns it adds.
    """
    for name in MIG_NUMBERS:
        if name not in daily.column_names:
            continue
        column = daily[name]
        if column.null_count < len(column) and not pa.types.is_floating(column.type):
            daily = daily.set_column(daily.column_names.index(name), name, column.cast(pa.float64()))
    return daily
