//! The SPDY/3.1 framing that `kubectl port-forward` speaks (inside a WebSocket or a plain upgrade):
//! control and data frames, and header blocks compressed with zlib and the SPDY/3 dictionary.
//! Only what a port-forward server needs: no flow control (kubectl's spdystream has none either).

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The zlib preset dictionary of SPDY/3 header blocks (SPDY/3 draft, section 2.6.10.1).
const DICTIONARY: &[u8] = include_bytes!("spdy3_dictionary.bin");

/// SYN_STREAM: the client opens a stream.
pub const SYN_STREAM: u16 = 1;
/// SYN_REPLY: the server accepts a stream.
pub const SYN_REPLY: u16 = 2;
/// RST_STREAM: a stream is aborted.
pub const RST_STREAM: u16 = 3;
/// PING: answered by echoing it.
pub const PING: u16 = 6;
/// GOAWAY: the peer is done.
pub const GOAWAY: u16 = 7;

/// The FIN flag: the sender will send nothing more on this stream.
pub const FLAG_FIN: u8 = 1;

/// One frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A control frame of `kind` with its flags and payload.
    Control {
        /// The frame type (`SYN_STREAM`, ...).
        kind: u16,
        /// Its flags.
        flags: u8,
        /// The payload after the 8-byte header.
        data: Vec<u8>,
    },
    /// Data on a stream.
    Data {
        /// The stream.
        stream: u32,
        /// Its flags (`FLAG_FIN`).
        flags: u8,
        /// The bytes.
        data: Vec<u8>,
    },
}

/// Takes one whole frame off the front of `buffer`, if it holds one.
pub fn parse(buffer: &mut Vec<u8>) -> Option<Frame> {
    if buffer.len() < 8 {
        return None;
    }
    let length = u32::from_be_bytes([0, buffer[5], buffer[6], buffer[7]]) as usize;
    if buffer.len() < 8 + length {
        return None;
    }
    let frame: Vec<u8> = buffer.drain(..8 + length).collect();
    let flags = frame[4];
    let data = frame[8..].to_vec();
    if frame[0] & 0x80 != 0 {
        Some(Frame::Control {
            kind: u16::from_be_bytes([frame[2], frame[3]]),
            flags,
            data,
        })
    } else {
        Some(Frame::Data {
            stream: u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) & 0x7fff_ffff,
            flags,
            data,
        })
    }
}

/// A control frame's bytes (version 3).
pub fn control(kind: u16, flags: u8, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + data.len());
    out.extend_from_slice(&[0x80, 0x03]);
    out.extend_from_slice(&kind.to_be_bytes());
    out.push(flags);
    out.extend_from_slice(&(data.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(data);
    out
}

/// A data frame's bytes.
pub fn data(stream: u32, flags: u8, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + data.len());
    out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    out.push(flags);
    out.extend_from_slice(&(data.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(data);
    out
}

/// The first 4 bytes of a payload as a stream id.
pub fn stream_id(payload: &[u8]) -> Option<u32> {
    payload
        .get(..4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) & 0x7fff_ffff)
}

/// One direction's header compression state (a zlib stream per connection and direction).
pub struct HeaderCodec {
    inflate: Decompress,
    deflate: Compress,
}

impl std::fmt::Debug for HeaderCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HeaderCodec")
    }
}

impl HeaderCodec {
    /// Fresh compression contexts for a new connection.
    pub fn new() -> Result<Self, String> {
        let mut deflate = Compress::new(Compression::default(), true);
        deflate
            .set_dictionary(DICTIONARY)
            .map_err(|e| format!("spdy header dictionary: {e}"))?;
        Ok(Self {
            inflate: Decompress::new(true),
            deflate,
        })
    }

    /// Decodes a compressed header block into (name, value) pairs.
    pub fn decode(&mut self, block: &[u8]) -> Result<Vec<(String, String)>, String> {
        let mut plain = Vec::with_capacity(block.len() * 4 + 64);
        let mut input = block;
        loop {
            plain.reserve(4096);
            let (before_in, before_out) = (self.inflate.total_in(), self.inflate.total_out());
            match self
                .inflate
                .decompress_vec(input, &mut plain, FlushDecompress::Sync)
            {
                Ok(_) => {}
                Err(e) if e.needs_dictionary().is_some() => self
                    .inflate
                    .set_dictionary(DICTIONARY)
                    .map(|_| ())
                    .map_err(|e| format!("spdy header dictionary: {e}"))?,
                Err(e) => return Err(format!("spdy header block: {e}")),
            }
            let consumed = (self.inflate.total_in() - before_in) as usize;
            let produced = self.inflate.total_out() - before_out;
            input = &input[consumed..];
            if input.is_empty() && plain.len() < plain.capacity() {
                break;
            }
            if consumed == 0 && produced == 0 && input.is_empty() {
                break;
            }
        }
        parse_headers(&plain)
    }

    /// Encodes (name, value) pairs as a compressed header block.
    pub fn encode(&mut self, headers: &[(&str, &str)]) -> Result<Vec<u8>, String> {
        let mut plain = Vec::new();
        plain.extend_from_slice(&(headers.len() as u32).to_be_bytes());
        for (name, value) in headers {
            plain.extend_from_slice(&(name.len() as u32).to_be_bytes());
            plain.extend_from_slice(name.as_bytes());
            plain.extend_from_slice(&(value.len() as u32).to_be_bytes());
            plain.extend_from_slice(value.as_bytes());
        }
        let mut out = Vec::with_capacity(plain.len() + 64);
        let mut input = plain.as_slice();
        loop {
            out.reserve(256);
            let before = self.deflate.total_in();
            let status = self
                .deflate
                .compress_vec(input, &mut out, FlushCompress::Sync)
                .map_err(|e| format!("compress spdy headers: {e}"))?;
            input = &input[(self.deflate.total_in() - before) as usize..];
            if input.is_empty() && out.len() < out.capacity() || status == Status::BufError {
                break;
            }
        }
        Ok(out)
    }
}

fn parse_headers(plain: &[u8]) -> Result<Vec<(String, String)>, String> {
    let mut at = 0usize;
    let mut take = |n: usize| -> Result<&[u8], String> {
        let slice = plain.get(at..at + n).ok_or("truncated spdy header block")?;
        at += n;
        Ok(slice)
    };
    let count = u32::from_be_bytes(take(4)?.try_into().map_err(|_| "bad count")?);
    let mut headers = Vec::new();
    for _ in 0..count {
        let len = u32::from_be_bytes(take(4)?.try_into().map_err(|_| "bad length")?) as usize;
        let name = String::from_utf8_lossy(take(len)?).into_owned();
        let len = u32::from_be_bytes(take(4)?.try_into().map_err(|_| "bad length")?) as usize;
        let value = String::from_utf8_lossy(take(len)?).into_owned();
        headers.push((name, value));
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_blocks_round_trip_across_frames_of_one_connection() {
        let mut sender = HeaderCodec::new().unwrap();
        let mut receiver = HeaderCodec::new().unwrap();
        for request in ["0", "1"] {
            let block = sender
                .encode(&[
                    ("streamtype", "data"),
                    ("port", "8080"),
                    ("requestid", request),
                ])
                .unwrap();
            let headers = receiver.decode(&block).unwrap();
            assert_eq!(headers[2], ("requestid".to_owned(), request.to_owned()));
        }
        assert_eq!(DICTIONARY.len(), 1423);
        assert!(DICTIONARY.starts_with(b"\0\0\0\x07options"));
    }

    #[test]
    fn frames_are_parsed_only_when_whole() {
        let mut buffer = control(PING, 0, &7u32.to_be_bytes());
        buffer.extend(data(3, FLAG_FIN, b"hi"));
        let mut partial = buffer[..14].to_vec();
        assert!(parse(&mut partial).is_some());
        assert!(parse(&mut partial).is_none());
        assert_eq!(
            parse(&mut buffer),
            Some(Frame::Control {
                kind: PING,
                flags: 0,
                data: 7u32.to_be_bytes().to_vec()
            })
        );
        assert_eq!(
            parse(&mut buffer),
            Some(Frame::Data {
                stream: 3,
                flags: FLAG_FIN,
                data: b"hi".to_vec()
            })
        );
    }
}
