//! The protobuf wire format: varints, fixed-width values and length-delimited fields.

/// One field value as it is on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireValue<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1.
    Fixed64(u64),
    /// Wire type 2.
    Bytes(&'a [u8]),
    /// Wire type 5.
    Fixed32(u32),
}

/// Reads fields from a message's bytes.
#[derive(Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.bytes.get(self.pos).ok_or("truncated varint")?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint longer than 10 bytes".into())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or("truncated field")?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    /// The next field number and value, or `None` at the end.
    pub fn next_field(&mut self) -> Result<Option<(u64, WireValue<'a>)>, String> {
        if self.pos >= self.bytes.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let value = match key & 7 {
            0 => WireValue::Varint(self.varint()?),
            1 => WireValue::Fixed64(u64::from_le_bytes(
                self.take(8)?.try_into().map_err(|_| "fixed64")?,
            )),
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| "length too large")?;
                WireValue::Bytes(self.take(len)?)
            }
            5 => WireValue::Fixed32(u32::from_le_bytes(
                self.take(4)?.try_into().map_err(|_| "fixed32")?,
            )),
            other => return Err(format!("unsupported wire type {other}")),
        };
        Ok(Some((key >> 3, value)))
    }
}

/// The values of a packed repeated scalar field.
pub fn unpack<'a>(bytes: &'a [u8], ty: &str) -> Result<Vec<WireValue<'a>>, String> {
    let mut reader = Reader::new(bytes);
    let mut out = Vec::new();
    while reader.pos < bytes.len() {
        out.push(match ty {
            "double" => WireValue::Fixed64(u64::from_le_bytes(
                reader.take(8)?.try_into().map_err(|_| "fixed64")?,
            )),
            "float" => WireValue::Fixed32(u32::from_le_bytes(
                reader.take(4)?.try_into().map_err(|_| "fixed32")?,
            )),
            _ => WireValue::Varint(reader.varint()?),
        });
    }
    Ok(out)
}
