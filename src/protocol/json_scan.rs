//! A pull scanner over a JSON byte stream: walks an object's members and an array's elements
//! and hands any one value to serde_json as a slice (serde_json reads a slice several times
//! faster than a `Read`): straight from its read buffer when the value is all there, else
//! copied out first. The source is read in fixed chunks, so memory is bounded by the largest
//! single value, never by the document. It checks the structure it walks (brackets, quotes,
//! separators) and nothing more: every value is fully checked by serde_json as it is read. It
//! knows no reply shapes (`replica_stream` walks those) and does no I/O beyond the reader it is
//! given.

use memchr::memchr2;
use std::io::Read;

/// Bytes read from the source at a time.
const CHUNK: usize = 256 * 1024;

/// Why a document could not be walked.
#[derive(Debug, thiserror::Error)]
pub(super) enum ScanError {
    #[error("expected {expected} at byte {at}")]
    Syntax { expected: &'static str, at: u64 },
    #[error("the document ends early (at byte {at})")]
    Eof { at: u64 },
    #[error("reading the document: {0}")]
    Io(#[from] std::io::Error),
    /// A value the scanner walked past is not what serde reads there.
    #[error("{0}")]
    Value(#[from] serde_json::Error),
}

/// One value of type `T` from the front of `slice` and the bytes it took; `None` when the
/// slice ends inside it.
pub(super) fn front<'a, T: serde::Deserialize<'a>>(
    slice: &'a [u8],
) -> Result<Option<(T, usize)>, serde_json::Error> {
    let mut values = serde_json::Deserializer::from_slice(slice).into_iter::<T>();
    match values.next() {
        Some(Ok(value)) => Ok(Some((value, values.byte_offset()))),
        Some(Err(e)) if e.is_eof() => Ok(None),
        Some(Err(e)) => Err(e),
        None => Ok(None),
    }
}

/// The walk over one document read from `R`.
pub(super) struct JsonScan<R> {
    reader: R,
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    /// Bytes of the document before `buf[0]`.
    offset: u64,
}

/// Where a walk through an object's members or an array's elements stands.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Seq {
    /// Nothing read yet after the opening bracket.
    Start,
    /// At least one member or element read.
    Within,
}

impl<R: Read> JsonScan<R> {
    pub(super) fn new(reader: R) -> Self {
        JsonScan {
            reader,
            buf: vec![0; CHUNK].into_boxed_slice(),
            pos: 0,
            end: 0,
            offset: 0,
        }
    }

    /// The position in the document, for messages.
    fn at(&self) -> u64 {
        self.offset + self.pos as u64
    }

    fn syntax(&self, expected: &'static str) -> ScanError {
        ScanError::Syntax {
            expected,
            at: self.at(),
        }
    }

    /// Makes at least one unread byte available; `false` at the end of the source.
    fn fill(&mut self) -> Result<bool, ScanError> {
        if self.pos < self.end {
            return Ok(true);
        }
        self.offset += self.end as u64;
        self.pos = 0;
        self.end = 0;
        loop {
            match self.reader.read(&mut self.buf) {
                Ok(n) => {
                    self.end = n;
                    return Ok(n > 0);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The next byte that is not whitespace, not consumed; `None` at the end of the source.
    fn peek(&mut self) -> Result<Option<u8>, ScanError> {
        loop {
            while self.pos < self.end {
                match self.buf[self.pos] {
                    b' ' | b'\t' | b'\n' | b'\r' => self.pos += 1,
                    byte => return Ok(Some(byte)),
                }
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// The next byte that is not whitespace, consumed.
    fn next(&mut self) -> Result<u8, ScanError> {
        let byte = self.peek()?.ok_or(ScanError::Eof { at: self.at() })?;
        self.pos += 1;
        Ok(byte)
    }

    /// Consumes the next value's opening `open` (`{` or `[`) and says `true`, or consumes a
    /// `null` and says `false`; anything else is an error naming `expected`.
    pub(super) fn open_or_null(
        &mut self,
        open: u8,
        expected: &'static str,
    ) -> Result<bool, ScanError> {
        match self.peek()? {
            Some(byte) if byte == open => {
                self.pos += 1;
                Ok(true)
            }
            Some(b'n') => {
                let mut word = Vec::with_capacity(4);
                self.copy_scalar(&mut word)?;
                if word == b"null" {
                    Ok(false)
                } else {
                    Err(self.syntax(expected))
                }
            }
            Some(_) => Err(self.syntax(expected)),
            None => Err(ScanError::Eof { at: self.at() }),
        }
    }

    /// The next member name of the object being walked (its text, unescaped), or `None` once
    /// the object has closed.
    pub(super) fn next_key(&mut self, seq: &mut Seq) -> Result<Option<String>, ScanError> {
        if !self.more(seq, b'}', "`,` or `}` after a member")? {
            return Ok(None);
        }
        if self.peek()? != Some(b'"') {
            return Err(self.syntax("a member name"));
        }
        let mut raw = Vec::with_capacity(32);
        self.copy_string(&mut raw)?;
        let key = if raw.contains(&b'\\') {
            serde_json::from_slice::<String>(&raw).map_err(|_| self.syntax("a member name"))?
        } else {
            String::from_utf8(raw[1..raw.len() - 1].to_vec())
                .map_err(|_| self.syntax("a member name in UTF-8"))?
        };
        if self.next()? != b':' {
            return Err(self.syntax("`:` after a member name"));
        }
        Ok(Some(key))
    }

    /// Whether another element follows in the array being walked.
    pub(super) fn next_element(&mut self, seq: &mut Seq) -> Result<bool, ScanError> {
        self.more(seq, b']', "`,` or `]` after an element")
    }

    /// Past a separator: whether another member or element follows before `close`.
    fn more(
        &mut self,
        seq: &mut Seq,
        close: u8,
        expected: &'static str,
    ) -> Result<bool, ScanError> {
        if *seq == Seq::Start {
            *seq = Seq::Within;
            if self.peek()? == Some(close) {
                self.pos += 1;
                return Ok(false);
            }
            return Ok(true);
        }
        match self.next()? {
            b',' => Ok(true),
            byte if byte == close => Ok(false),
            _ => {
                self.pos -= 1;
                Err(self.syntax(expected))
            }
        }
    }

    /// Reads the next value with `read` (a serde read of one value from the front of a slice,
    /// such as [`front`]): straight from the buffer when the value is all there (the common
    /// case: one pass, no copy), else from its copy in `spill`. Only values that close
    /// themselves (objects, arrays, strings) are read in place: a number at the buffer's end
    /// could be the front of a longer one.
    pub(super) fn read_value<U>(
        &mut self,
        spill: &mut Vec<u8>,
        mut read: impl FnMut(&[u8]) -> Result<Option<(U, usize)>, serde_json::Error>,
    ) -> Result<U, ScanError> {
        let first = self.peek()?.ok_or(ScanError::Eof { at: self.at() })?;
        if matches!(first, b'{' | b'[' | b'"') {
            // A value read whole is complete (it closed). Any failure may be the buffer's end
            // cutting it (serde_json calls a number cut after its `.` or `e` invalid, not
            // cut): the copy decides.
            if let Ok(Some((value, used))) = read(&self.buf[self.pos..self.end]) {
                self.pos += used;
                return Ok(value);
            }
        }
        spill.clear();
        self.copy_value(spill)?;
        match read(spill)? {
            Some((value, used)) if used == spill.len() => Ok(value),
            _ => Err(self.syntax("a whole value")),
        }
    }

    /// Appends the next value's text to `out`, exactly as it is in the document.
    fn copy_value(&mut self, out: &mut Vec<u8>) -> Result<(), ScanError> {
        match self.peek()? {
            None => Err(ScanError::Eof { at: self.at() }),
            Some(b'"') => self.copy_string(out),
            Some(b'{' | b'[') => self.copy_nested(out),
            Some(b'}' | b']' | b',' | b':') => Err(self.syntax("a value")),
            Some(_) => self.copy_scalar(out),
        }
    }

    /// Checks that nothing but whitespace is left.
    pub(super) fn finish(&mut self) -> Result<(), ScanError> {
        match self.peek()? {
            None => Ok(()),
            Some(_) => Err(self.syntax("the end of the document")),
        }
    }

    /// A string, its quotes included (the scanner is at its opening quote).
    fn copy_string(&mut self, out: &mut Vec<u8>) -> Result<(), ScanError> {
        out.push(b'"');
        self.pos += 1;
        loop {
            if !self.fill()? {
                return Err(ScanError::Eof { at: self.at() });
            }
            let unread = &self.buf[self.pos..self.end];
            let Some(i) = memchr2(b'"', b'\\', unread) else {
                out.extend_from_slice(unread);
                self.pos = self.end;
                continue;
            };
            out.extend_from_slice(&unread[..=i]);
            let closing = unread[i] == b'"';
            self.pos += i + 1;
            if closing {
                return Ok(());
            }
            // An escape: the next byte is taken whatever it is (serde checks it later).
            if !self.fill()? {
                return Err(ScanError::Eof { at: self.at() });
            }
            out.push(self.buf[self.pos]);
            self.pos += 1;
        }
    }

    /// An object or array, to its matching close (the scanner is at its opening bracket). One
    /// pass over each chunk, strings included (most strings in a reply are short: a search
    /// call per string would cost more than it skips), one copy of what the chunk holds.
    fn copy_nested(&mut self, out: &mut Vec<u8>) -> Result<(), ScanError> {
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        loop {
            if !self.fill()? {
                return Err(ScanError::Eof { at: self.at() });
            }
            let chunk = &self.buf[self.pos..self.end];
            let mut closed = None;
            for (i, &byte) in chunk.iter().enumerate() {
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if byte == b'\\' {
                        escaped = true;
                    } else if byte == b'"' {
                        in_string = false;
                    }
                    continue;
                }
                match byte {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            closed = Some(i);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            match closed {
                Some(i) => {
                    out.extend_from_slice(&chunk[..=i]);
                    self.pos += i + 1;
                    return Ok(());
                }
                None => {
                    out.extend_from_slice(chunk);
                    self.pos = self.end;
                }
            }
        }
    }

    /// A number, `true`, `false` or `null`: up to the next separator or whitespace.
    fn copy_scalar(&mut self, out: &mut Vec<u8>) -> Result<(), ScanError> {
        loop {
            if !self.fill()? {
                return Ok(());
            }
            let start = self.pos;
            let stop = self.buf[start..self.end].iter().position(|b| {
                matches!(b, b',' | b'}' | b']' | b':' | b' ' | b'\t' | b'\n' | b'\r')
            });
            match stop {
                Some(n) => {
                    out.extend_from_slice(&self.buf[start..start + n]);
                    self.pos = start + n;
                    return Ok(());
                }
                None => {
                    out.extend_from_slice(&self.buf[start..self.end]);
                    self.pos = self.end;
                }
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use serde_json::value::RawValue;

    /// Reads `source` one byte at a time, so every value crosses chunk boundaries.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let Some((&first, rest)) = self.0.split_first() else {
                return Ok(0);
            };
            buf[0] = first;
            self.0 = rest;
            Ok(1)
        }
    }

    /// Every member of the top object as (name, copied text).
    fn members<R: Read>(reader: R) -> Result<Vec<(String, String)>, ScanError> {
        let mut scan = JsonScan::new(reader);
        assert!(scan.open_or_null(b'{', "an object")?);
        let mut seq = Seq::Start;
        let mut out = Vec::new();
        while let Some(key) = scan.next_key(&mut seq)? {
            let mut text = Vec::new();
            scan.copy_value(&mut text)?;
            out.push((key, String::from_utf8(text).unwrap()));
        }
        scan.finish()?;
        Ok(out)
    }

    const DOC: &str = r#" { "a" : [1, {"b": "x]}\"y"}, [ ] ] , "c\u0041":-1.5e3,
        "d":"\\", "e":{}, "f":null ,"g":true}  "#;

    #[test]
    fn copies_each_value_verbatim_whatever_the_chunking() {
        let expected = vec![
            ("a".to_string(), r#"[1, {"b": "x]}\"y"}, [ ] ]"#.to_string()),
            ("cA".to_string(), "-1.5e3".to_string()),
            ("d".to_string(), r#""\\""#.to_string()),
            ("e".to_string(), "{}".to_string()),
            ("f".to_string(), "null".to_string()),
            ("g".to_string(), "true".to_string()),
        ];
        assert_eq!(members(DOC.as_bytes()).unwrap(), expected);
        assert_eq!(members(Trickle(DOC.as_bytes())).unwrap(), expected);
    }

    #[test]
    fn reads_values_in_place_or_from_a_copy_alike() {
        let doc = r#"[{"a":"x\"]"}, "s\u0041", 12345, [1,[2]], true, {"b":null}]"#;
        let read_all = |scan: &mut JsonScan<&mut dyn Read>| {
            assert!(scan.open_or_null(b'[', "a list").unwrap());
            let (mut seq, mut spill, mut all) = (Seq::Start, Vec::new(), Vec::new());
            while scan.next_element(&mut seq).unwrap() {
                let value: serde_json::Value = scan.read_value(&mut spill, |s| front(s)).unwrap();
                all.push(value);
            }
            scan.finish().unwrap();
            all
        };
        let whole: Vec<serde_json::Value> = serde_json::from_str(doc).unwrap();
        let mut in_place: &[u8] = doc.as_bytes();
        assert_eq!(
            read_all(&mut JsonScan::new(&mut in_place as &mut dyn Read)),
            whole
        );
        let mut trickle = Trickle(doc.as_bytes());
        assert_eq!(
            read_all(&mut JsonScan::new(&mut trickle as &mut dyn Read)),
            whole
        );
        let mut bad = JsonScan::new(&br#"{"a":tru}"#[..]);
        let err = bad.read_value(&mut Vec::new(), |s| front::<serde_json::Value>(s));
        assert!(err.is_err());
    }

    /// Reads its bytes at most `.1` at a time (shared with `replica_stream`'s tests).
    pub(in crate::protocol) struct Chunks<'a>(pub &'a [u8], pub usize);

    impl Read for Chunks<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(self.0.len()).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_value_cut_anywhere_by_the_buffer_reads_as_it_does_whole() {
        let feature = r#"{"rings":[[[1.5,-2.25e3],[-7,0.125E-2]]],"s":"a\"b"}"#;
        let doc = format!(r#"[{feature},{feature},"x\u00e9",[true,null],{feature},{feature}]"#);
        let whole: Vec<serde_json::Value> = serde_json::from_str(&doc).unwrap();
        let text_value =
            |raw: &RawValue| serde_json::from_str::<serde_json::Value>(raw.get()).unwrap();
        for n in 1..=doc.len() {
            let mut scan = JsonScan::new(Chunks(doc.as_bytes(), n));
            scan.buf = vec![0; n].into_boxed_slice();
            assert!(scan.open_or_null(b'[', "a list").unwrap());
            let (mut seq, mut spill, mut all) = (Seq::Start, Vec::new(), Vec::new());
            while scan.next_element(&mut seq).unwrap() {
                // Both ways serde reads numbers: parsed (a value) and skipped (a raw text).
                let value = if all.len() % 2 == 0 {
                    scan.read_value(&mut spill, |s| front::<serde_json::Value>(s))
                } else {
                    scan.read_value(&mut spill, |s| {
                        Ok(front::<&RawValue>(s)?.map(|(raw, used)| (text_value(raw), used)))
                    })
                };
                all.push(value.unwrap_or_else(|e| panic!("chunks of {n}: {e}")));
            }
            scan.finish().unwrap();
            assert_eq!(all, whole, "chunks of {n}");
        }
    }

    #[test]
    fn walks_array_elements() {
        let mut scan = JsonScan::new(Trickle(br#"[ {"x":[1,2]} , "s", 3 ]"#));
        assert!(scan.open_or_null(b'[', "a list").unwrap());
        let (mut seq, mut all) = (Seq::Start, Vec::new());
        while scan.next_element(&mut seq).unwrap() {
            let mut text = Vec::new();
            scan.copy_value(&mut text).unwrap();
            all.push(String::from_utf8(text).unwrap());
        }
        scan.finish().unwrap();
        assert_eq!(all, [r#"{"x":[1,2]}"#, r#""s""#, "3"]);
        let mut empty = JsonScan::new(&b" [ ] "[..]);
        assert!(empty.open_or_null(b'[', "a list").unwrap());
        assert!(!empty.next_element(&mut Seq::Start).unwrap());
        let mut null = JsonScan::new(&b"null"[..]);
        assert!(!null.open_or_null(b'[', "a list").unwrap());
    }

    #[test]
    fn cut_or_broken_documents_are_errors_never_panics() {
        for bad in [
            "",
            "{",
            r#"{"a""#,
            r#"{"a":"#,
            r#"{"a":"x"#,
            r#"{"a":[1,2"#,
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            r#"{"a":1 "b":2}"#,
            r#"{a:1}"#,
            r#"{"a":1} x"#,
            r#"{"a":"\"#,
            "{\"a\":[\"\\",
        ] {
            assert!(members(bad.as_bytes()).is_err(), "{bad:?}");
            assert!(members(Trickle(bad.as_bytes())).is_err(), "{bad:?}");
        }
        let mut not_object = JsonScan::new(&b"[1]"[..]);
        assert!(not_object.open_or_null(b'{', "an object").is_err());
        let mut nil = JsonScan::new(&b"nul"[..]);
        assert!(nil.open_or_null(b'{', "an object").is_err());
    }
}
