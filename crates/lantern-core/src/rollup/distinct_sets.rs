//! Exact distinct counts from rollups. A rollup row keeps the distinct values of its group as a compressed
//! bitmap (Roaring) of value codes; a query counts the union of the bitmaps of the rows it selects. A rollup of
//! (date, team) therefore answers "active users" for any date range and set of teams exactly, from a few
//! thousand rows, where a table of distinct (date, team, user) values would be as large as the raw data.
//!
//! Codes are numbered per rollup build (one [`Codes`] shared by the build's partitions), so the bitmaps of one
//! rollup can be unioned with each other and with nothing else.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Int64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
    create_udaf,
};
use roaring::RoaringBitmap;

/// The distinct values one rollup build has seen, by code.
#[derive(Debug, Default)]
struct Codes(Mutex<HashMap<Vec<u8>, u32>>);

/// `lantern_distinct_set(text)`: the bitmap of the codes of the distinct non-null values of its group (the
/// argument is cast to text first, so any column type works). A fresh function per rollup build.
pub(crate) fn collect() -> AggregateUDF {
    let codes = Arc::new(Codes::default());
    create_udaf(
        "lantern_distinct_set",
        vec![DataType::Utf8],
        Arc::new(DataType::Binary),
        Volatility::Immutable,
        Arc::new(move |_| {
            Ok(Box::new(Collect {
                codes: codes.clone(),
                set: RoaringBitmap::new(),
            }))
        }),
        Arc::new(vec![DataType::Binary]),
    )
}

/// `lantern_distinct_count(bitmap)`: how many codes the union of its group's bitmaps holds, as an `Int64` like
/// `count(DISTINCT …)`. Grouped queries get one accumulator for all groups ([`UnionGroups`]): DataFusion's
/// per-group adapter would copy every group's bitmaps out of each batch first.
pub(crate) fn count() -> AggregateUDF {
    AggregateUDF::from(DistinctCount {
        signature: Signature::exact(vec![DataType::Binary], Volatility::Immutable),
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct DistinctCount {
    signature: Signature,
}

impl AggregateUDFImpl for DistinctCount {
    fn name(&self) -> &str {
        "lantern_distinct_count"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn accumulator(&self, _: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(Union::default()))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format_state_name(args.name, "set"),
            DataType::Binary,
            true,
        ))])
    }

    fn groups_accumulator_supported(&self, _: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, _: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(UnionGroups::default()))
    }
}

fn to_bytes(set: &RoaringBitmap) -> Result<ScalarValue> {
    let mut out = Vec::with_capacity(set.serialized_size());
    set.serialize_into(&mut out)
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
    Ok(ScalarValue::Binary(Some(out)))
}

/// ORs every bitmap of a binary column into `set`.
fn union_into(set: &mut RoaringBitmap, array: &ArrayRef) -> Result<()> {
    for bytes in binary(array)?.iter().flatten() {
        let other = RoaringBitmap::deserialize_unchecked_from(bytes)
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        *set |= other;
    }
    Ok(())
}

fn binary(array: &ArrayRef) -> Result<&datafusion::arrow::array::BinaryArray> {
    array.as_binary_opt::<i32>().ok_or_else(|| {
        DataFusionError::Internal(format!("distinct set of type {}", array.data_type()))
    })
}

/// The cookie of Roaring's portable format without run containers, which is what [`Collect`] writes (its sets
/// are built by `insert`, never optimized into runs).
const COOKIE_NO_RUNS: u32 = 12346;

/// The most words a plain bitmap takes (128 KiB, the first 2²⁰ codes): a union of a column with more distinct
/// values continues as a Roaring bitmap, so that a query grouped many ways never holds a megabyte per group.
const DENSE_MAX_WORDS: usize = 1 << 14;

/// A union of sets. A query unions thousands of small sets (one per rollup row); Roaring's own union of two
/// array containers merges both into a new array every time, and deserializing each set allocates, which
/// together took most of a page's time. So the union is a plain bitmap, one bit per code, and each set is read in
/// place from its serialized bytes; where that would take too much memory ([`plain_fits`]) or a set has a layout
/// not read in place, it continues as a Roaring bitmap.
#[derive(Debug)]
enum Dense {
    /// The words, and how many codes the sets added so far held (with repeats).
    Plain(Vec<u64>, u64),
    Roaring(RoaringBitmap),
}

impl Default for Dense {
    fn default() -> Self {
        Dense::Plain(Vec::new(), 0)
    }
}

/// Whether a plain bitmap of `words` stays worth it for `codes` codes: at most 32 bytes a code (Roaring takes
/// about 2), plus 128 bytes, and at most [`DENSE_MAX_WORDS`]. A group of a grouped query holds few codes spread over the whole range (one user's
/// set in a table of users), and a plain bitmap for each would take the range's size per group.
fn plain_fits(words: usize, codes: u64) -> bool {
    words <= DENSE_MAX_WORDS && words as u64 <= 16 + 4 * codes
}

fn deserialize(bytes: &[u8]) -> Result<RoaringBitmap> {
    RoaringBitmap::deserialize_unchecked_from(bytes)
        .map_err(|e| DataFusionError::External(Box::new(e)))
}

impl Dense {
    /// Adds the codes of one serialized set.
    fn add_serialized(&mut self, bytes: &[u8]) -> Result<()> {
        match self {
            Dense::Plain(words, codes) => {
                if !add_portable(words, codes, bytes) {
                    let mut set = to_bitmap(words);
                    set |= deserialize(bytes)?;
                    *self = Dense::Roaring(set);
                }
            }
            Dense::Roaring(set) => *set |= deserialize(bytes)?,
        }
        Ok(())
    }

    fn len(&self) -> u64 {
        match self {
            Dense::Plain(words, _) => words.iter().map(|w| w.count_ones() as u64).sum(),
            Dense::Roaring(set) => set.len(),
        }
    }

    fn bytes(&self) -> usize {
        match self {
            Dense::Plain(words, _) => words.capacity() * 8,
            Dense::Roaring(set) => set.serialized_size(),
        }
    }

    fn to_bitmap(&self) -> RoaringBitmap {
        match self {
            Dense::Plain(words, _) => to_bitmap(words),
            Dense::Roaring(set) => set.clone(),
        }
    }

    fn add_all(&mut self, array: &ArrayRef) -> Result<()> {
        for bytes in binary(array)?.iter().flatten() {
            self.add_serialized(bytes)?;
        }
        Ok(())
    }
}

fn to_bitmap(words: &[u64]) -> RoaringBitmap {
    let codes = words.iter().enumerate().flat_map(|(i, &w)| {
        (0..64)
            .filter(move |b| w & (1 << b) != 0)
            .map(move |b| (i as u32) << 6 | b)
    });
    RoaringBitmap::from_sorted_iter(codes).expect("codes in order")
}

/// ORs a set in Roaring's portable layout without run containers into `words`, read in place: cookie, container
/// count, per container its key and cardinality − 1, per container its offset, then the containers (`u16`
/// values when they hold at most 4096, else a bitmap of 1024 words). `codes` counts the codes added. `false`,
/// with nothing added, when `bytes` is in another layout or cut short, or when the words needed would no longer
/// be worth it ([`plain_fits`]).
fn add_portable(words: &mut Vec<u64>, codes: &mut u64, bytes: &[u8]) -> bool {
    let u16_at = |i: usize| {
        bytes
            .get(i..i + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |i: usize| {
        bytes
            .get(i..i + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    if u32_at(0) != Some(COOKIE_NO_RUNS) {
        return false;
    }
    // At most one container per 16-bit key, each described in 8 bytes.
    let n = match u32_at(4) {
        Some(n) if n <= 1 << 16 && bytes.len() >= 8 + 8 * n as usize => n as usize,
        _ => return false,
    };
    // Every container's extent is checked first, so that a bad set adds nothing.
    let mut extents = Vec::with_capacity(n);
    let (mut needed, mut added) = (words.len(), 0u64);
    for c in 0..n {
        let (Some(key), Some(card), Some(offset)) = (
            u16_at(8 + 4 * c),
            u16_at(10 + 4 * c),
            u32_at(8 + 4 * n + 4 * c),
        ) else {
            return false;
        };
        let card = card as usize + 1;
        let len = if card <= 4096 { 2 * card } else { 8192 };
        let start = offset as usize;
        let Some(data) = bytes.get(start..start + len) else {
            return false;
        };
        // 65536 codes per container, 64 per word.
        let base = (key as usize) << 10;
        let top = if card <= 4096 {
            let greatest = data
                .chunks_exact(2)
                .map(|v| u16::from_le_bytes([v[0], v[1]]))
                .max()
                .unwrap_or(0) as usize;
            base + (greatest >> 6) + 1
        } else {
            base + 1024
        };
        needed = needed.max(top);
        added += card as u64;
        extents.push((base, card <= 4096, data));
    }
    if !plain_fits(needed, *codes + added) {
        return false;
    }
    *codes += added;
    if words.len() < needed {
        words.resize(needed, 0);
    }
    for (base, array, data) in extents {
        if array {
            for v in data.chunks_exact(2) {
                let v = u16::from_le_bytes([v[0], v[1]]) as usize;
                words[base + (v >> 6)] |= 1 << (v & 63);
            }
        } else {
            for (w, b) in words[base..base + 1024]
                .iter_mut()
                .zip(data.chunks_exact(8))
            {
                *w |= u64::from_le_bytes(b.try_into().expect("8 bytes"));
            }
        }
    }
    true
}

#[derive(Debug)]
struct Collect {
    codes: Arc<Codes>,
    set: RoaringBitmap,
}

impl Accumulator for Collect {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let Some(text) = values[0].as_string_opt::<i32>() else {
            return Err(DataFusionError::Internal(format!(
                "distinct values of type {}",
                values[0].data_type()
            )));
        };
        // One lock per batch, not per value.
        let mut codes = self.codes.0.lock().expect("codes lock");
        for v in text.iter().flatten() {
            let next = codes.len() as u32;
            let code = *codes.entry(v.as_bytes().to_vec()).or_insert(next);
            self.set.insert(code);
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        to_bytes(&self.set)
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Self>() + self.set.serialized_size()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![to_bytes(&self.set)?])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        union_into(&mut self.set, &states[0])
    }
}

#[derive(Debug, Default)]
struct Union {
    set: Dense,
}

impl Accumulator for Union {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.set.add_all(&values[0])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Int64(Some(self.set.len() as i64)))
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Self>() + self.set.bytes()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![to_bytes(&self.set.to_bitmap())?])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.set.add_all(&states[0])
    }
}

/// The unions of every group of a grouped query, by group index.
#[derive(Debug, Default)]
struct UnionGroups {
    sets: Vec<Dense>,
    /// The bytes the sets take, kept as they grow: `size` is asked once a batch and must not visit every group.
    bytes: usize,
}

impl UnionGroups {
    fn add(
        &mut self,
        array: &ArrayRef,
        groups: &[usize],
        filter: Option<&BooleanArray>,
        total: usize,
    ) -> Result<()> {
        if self.sets.len() < total {
            self.sets.resize_with(total, Dense::default);
        }
        let bitmaps = binary(array)?;
        for (row, &group) in groups.iter().enumerate() {
            let selected = filter.is_none_or(|f| f.is_valid(row) && f.value(row));
            if selected && bitmaps.is_valid(row) {
                let set = &mut self.sets[group];
                let before = set.bytes();
                set.add_serialized(bitmaps.value(row))?;
                self.bytes = (self.bytes + set.bytes()).saturating_sub(before);
            }
        }
        Ok(())
    }
}

impl GroupsAccumulator for UnionGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.add(&values[0], group_indices, opt_filter, total_num_groups)
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let sets = self.take(emit_to);
        Ok(Arc::new(Int64Array::from_iter_values(
            sets.iter().map(|s| s.len() as i64),
        )))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let sets = self.take(emit_to);
        let mut out = Vec::with_capacity(sets.len());
        for set in &sets {
            let mut bytes = Vec::new();
            set.to_bitmap()
                .serialize_into(&mut bytes)
                .map_err(|e| DataFusionError::External(Box::new(e)))?;
            out.push(bytes);
        }
        Ok(vec![Arc::new(BinaryArray::from_iter_values(out))])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.add(&values[0], group_indices, None, total_num_groups)
    }

    /// The input rows are sets already: each is its own state (a filtered-out row an empty one).
    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let Some(filter) = opt_filter else {
            return Ok(vec![values[0].clone()]);
        };
        let bitmaps = binary(&values[0])?;
        let kept: BinaryArray = bitmaps
            .iter()
            .enumerate()
            .map(|(row, v)| v.filter(|_| filter.is_valid(row) && filter.value(row)))
            .collect();
        Ok(vec![Arc::new(kept)])
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.sets.capacity() * std::mem::size_of::<Dense>()
            + self.bytes
    }
}

impl UnionGroups {
    fn take(&mut self, emit_to: EmitTo) -> Vec<Dense> {
        let sets = emit_to.take_needed(&mut self.sets);
        let gone: usize = sets.iter().map(Dense::bytes).sum();
        self.bytes = self.bytes.saturating_sub(gone);
        sets
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::StringArray;

    #[test]
    fn unions_of_group_sets_count_each_value_once() {
        // Two groups of one build share their codes (as the accumulators of one `collect()` do).
        let shared = Arc::new(Codes::default());
        let mut a = Collect {
            codes: shared.clone(),
            set: RoaringBitmap::new(),
        };
        let mut b = Collect {
            codes: shared,
            set: RoaringBitmap::new(),
        };
        let batch =
            |v: Vec<Option<&str>>| -> Vec<ArrayRef> { vec![Arc::new(StringArray::from(v))] };
        a.update_batch(&batch(vec![Some("x"), Some("y"), None, Some("x")]))
            .unwrap();
        b.update_batch(&batch(vec![Some("y"), Some("z")])).unwrap();
        let sets: Vec<ScalarValue> = vec![a.evaluate().unwrap(), b.evaluate().unwrap()];
        let mut union = Union::default();
        union
            .update_batch(&[ScalarValue::iter_to_array(sets).unwrap()])
            .unwrap();
        assert_eq!(union.evaluate().unwrap(), ScalarValue::Int64(Some(3)));
        // Nothing selected counts zero, like `count(DISTINCT …)`.
        assert_eq!(
            Union::default().evaluate().unwrap(),
            ScalarValue::Int64(Some(0))
        );
    }

    fn serialized(set: &RoaringBitmap) -> Vec<u8> {
        let mut out = Vec::new();
        set.serialize_into(&mut out).unwrap();
        out
    }

    #[test]
    fn dense_unions_read_every_layout_like_roaring() {
        // Seeded sets: a small array container, a full bitmap container (over 4096 codes), codes past the first
        // container, and a set optimized into runs (the other layout, read by the crate).
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let small: RoaringBitmap = (0..300).map(|_| (next() % 60_000) as u32).collect();
        let wide: RoaringBitmap = (0..9_000).map(|_| (next() % 20_000) as u32).collect();
        let far: RoaringBitmap = (0..500)
            .map(|_| 70_000 + (next() % 200_000) as u32)
            .collect();
        let mut runs: RoaringBitmap = (1_000..6_000).collect();
        runs.optimize();
        // Codes past the plain bitmap's bound: the union continues as a Roaring bitmap.
        let huge: RoaringBitmap = (0..50).map(|i| 3_000_000 + i * 7).collect();
        let mut expected = RoaringBitmap::new();
        let mut plain = Dense::default();
        for s in [&small, &wide, &far] {
            plain.add_serialized(&serialized(s)).unwrap();
            expected |= s;
        }
        assert!(matches!(plain, Dense::Plain(..)));
        assert_eq!(
            (plain.len(), plain.to_bitmap()),
            (expected.len(), expected.clone())
        );
        for s in [&runs, &huge] {
            let mut one = Dense::default();
            one.add_serialized(&serialized(&small)).unwrap();
            one.add_serialized(&serialized(s)).unwrap();
            assert!(matches!(one, Dense::Roaring(_)));
            assert_eq!(one.to_bitmap(), &small | s);
            plain.add_serialized(&serialized(s)).unwrap();
            expected |= s;
        }
        assert_eq!((plain.len(), plain.to_bitmap()), (expected.len(), expected));
        // Cut short: not read in place, and the crate refuses it.
        let bytes = serialized(&small);
        assert!(!add_portable(
            &mut Vec::new(),
            &mut 0,
            &bytes[..bytes.len() - 1]
        ));
        assert!(
            Dense::default()
                .add_serialized(&bytes[..bytes.len() - 1])
                .is_err()
        );
    }

    #[test]
    fn grouped_unions_count_per_group_and_merge_their_states() {
        let set = |codes: &[u32]| serialized(&codes.iter().copied().collect());
        let rows: ArrayRef = Arc::new(BinaryArray::from_iter(vec![
            Some(set(&[1, 2, 3])),
            Some(set(&[3, 4])),
            None,
            Some(set(&[9])),
            Some(set(&[100_000, 2])),
        ]));
        // Rows 0, 1 and 4 go to group 0, row 3 to group 2; the filter drops row 1.
        let groups = [0, 0, 1, 2, 0];
        let filter = BooleanArray::from(vec![true, false, true, true, true]);
        let mut acc = UnionGroups::default();
        acc.update_batch(std::slice::from_ref(&rows), &groups, Some(&filter), 3)
            .unwrap();
        let counts = |a: ArrayRef| {
            a.as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                .values()
                .to_vec()
        };
        let mut again = UnionGroups::default();
        again
            .merge_batch(&acc.state(EmitTo::All).unwrap(), &[0, 1, 2], 3)
            .unwrap();
        assert_eq!(counts(again.evaluate(EmitTo::All).unwrap()), vec![4, 0, 1]);
        assert_eq!(acc.bytes, 0, "emitted sets are no longer counted");
        // Converted rows are their own states: filtered-out rows add nothing once merged.
        let states = acc.convert_to_state(&[rows], Some(&filter)).unwrap();
        let mut merged = UnionGroups::default();
        merged.merge_batch(&states, &groups, 3).unwrap();
        assert_eq!(counts(merged.evaluate(EmitTo::All).unwrap()), vec![4, 0, 1]);
    }
}
