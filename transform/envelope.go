package transform

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
)

var (
	gzipMagic = []byte{0x1f, 0x8b}
)

func isGzip(b []byte) bool { return bytes.HasPrefix(b, gzipMagic) }

// isZlib recognises a zlib header: deflate, window <= 32K, no preset
// dictionary, valid check bits.
func isZlib(b []byte) bool {
	return len(b) >= 2 && b[0]&0x0f == 8 && b[0]>>4 <= 7 && b[1]&0x20 == 0 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0
}

func preview(b []byte) string {
	if len(b) > 24 {
		b = b[:24]
	}
	return string(b)
}

func looksBase64(b []byte) bool {
	b = bytes.TrimRight(b, " \n\r\t")
	if len(b) < 8 {
		return false
	}
	for _, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' || c == '-' || c == '_' || c == '\n' || c == '\r') {
			return false
		}
	}
	return true
}

// decodeBase64 decodes standard or URL base64 text, padded or not.
func decodeBase64(b []byte) ([]byte, bool) {
	b = bytes.TrimRight(b, " \n\r\t")
	if !looksBase64(b) {
		return nil, false
	}
	if bytes.ContainsAny(b, "\n\r") {
		b = bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\n"), nil), []byte("\r"), nil)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		out := make([]byte, enc.DecodedLen(len(b)))
		n, err := enc.Decode(out, b)
		if err == nil {
			return out[:n], true
		}
	}
	return nil, false
}

// decompress inflates gzip (multi-member) or zlib streams, back to back,
// enforcing the decompressed size and ratio limits while streaming.
func (s *state) decompress(b []byte, compressedSize int) (plain []byte, reason, msg string) {
	limit := s.d.cfg.MaxDecompressedBytes
	if r := s.d.cfg.MaxDecompressionRatio; compressedSize > 0 && compressedSize*r < limit && compressedSize*r > 0 {
		limit = compressedSize * r
	}
	var out bytes.Buffer
	rd := bytes.NewReader(b)
	for {
		rest := b[len(b)-rd.Len():]
		rest = rest[skipWS(rest, 0):]
		if len(rest) == 0 {
			break
		}
		if !isGzip(rest) && !isZlib(rest) {
			// Trailing uncompressed bytes (a plain payload after a compressed one).
			out.Write(rest)
			break
		}
		rd = bytes.NewReader(rest)
		var zr io.Reader
		var closer io.Closer
		if isGzip(rest) {
			g, err := gzip.NewReader(rd)
			if err != nil {
				return nil, ReasonDecompress, fmt.Sprintf("gzip header is invalid (%v); the record is corrupt or truncated", err)
			}
			g.Multistream(false)
			zr, closer = g, g
		} else {
			z, err := zlib.NewReader(rd)
			if err != nil {
				return nil, ReasonDecompress, fmt.Sprintf("zlib header is invalid (%v); the record is corrupt or truncated", err)
			}
			zr, closer = z, z
		}
		remaining := int64(limit - out.Len())
		n, err := io.Copy(&out, io.LimitReader(zr, remaining+1))
		closer.Close()
		if n > remaining {
			return nil, ReasonDecompressLimit, fmt.Sprintf("decompressed payload exceeds %d bytes (transform.max_decompressed_bytes %d, transform.max_decompression_ratio %d x %d compressed bytes); it may be a compression bomb; raise the limits if it is genuine", limit, s.d.cfg.MaxDecompressedBytes, s.d.cfg.MaxDecompressionRatio, compressedSize)
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) && out.Len() > 0 {
				return out.Bytes(), ReasonDecompress, fmt.Sprintf("compressed stream is truncated (%v) after %d inflated bytes; the complete records before the cut were decoded", err, out.Len())
			}
			return nil, ReasonDecompress, fmt.Sprintf("decompression failed (%v); the record is corrupt or truncated", err)
		}
	}
	return out.Bytes(), "", ""
}

// salvage decodes the complete leading elements of a broken CloudTrail
// file ({"Records":[...] or a bare array), typically a truncated one, and
// dead-letters the rest. It reports false when b is not such a file or
// not even one element is complete.
func (s *state) salvage(b []byte) bool {
	if s.format != FormatAuto && s.format != FormatCloudTrail {
		return false
	}
	depth := s.d.cfg.MaxJSONDepth
	i := skipWS(b, 0)
	if i < len(b) && b[i] == '{' {
		// Find the top-level "Records" member.
		i = skipWS(b, i+1)
		for {
			if i >= len(b) || b[i] != '"' {
				return false
			}
			ke, err := scanString(b, i)
			if err != nil {
				return false
			}
			key := b[i+1 : ke-1]
			vi, _, err := scanKey(b, i)
			if err != nil {
				return false
			}
			if string(key) == "Records" {
				i = vi
				break
			}
			ve, err := scanValue(b, vi, depth-1)
			if err != nil {
				return false
			}
			i = skipWS(b, ve)
			if i >= len(b) || b[i] != ',' {
				return false
			}
			i = skipWS(b, i+1)
		}
		depth--
	}
	if i >= len(b) || b[i] != '[' {
		return false
	}
	i = skipWS(b, i+1)
	var good [][]byte
	for i < len(b) && b[i] != ']' {
		end, err := scanValue(b, i, depth-1)
		if err != nil {
			break
		}
		good = append(good, b[i:end])
		i = skipWS(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipWS(b, i+1)
		}
	}
	if len(good) == 0 || !isCloudTrailRecord(good[0]) {
		return false
	}
	saved := s.provider
	s.provider = ProviderAWS
	for _, e := range good {
		s.cloudTrailRecord(e, "")
	}
	s.provider = saved
	s.dead(ReasonInvalidJSON, b[i:], fmt.Sprintf("CloudTrail file is truncated or corrupt after %d complete records (which were decoded); the rest is kept here", len(good)))
	return true
}

// fixSurrogates replaces \u escapes of lone UTF-16 surrogates in validated
// JSON with \ufffd, so that attributes stay valid for strict JSON readers
// (DuckDB's JSON functions). Escaped surrogate pairs are kept.
func fixSurrogates(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		if b[i] != '\\' {
			out = append(out, b[i])
			i++
			continue
		}
		if b[i+1] != 'u' {
			out = append(out, b[i], b[i+1])
			i += 2
			continue
		}
		r := hex4(b[i+2 : i+6])
		switch {
		case r >= 0xd800 && r < 0xdc00 && i+12 <= len(b) && b[i+6] == '\\' && b[i+7] == 'u' &&
			hex4(b[i+8:i+12]) >= 0xdc00 && hex4(b[i+8:i+12]) < 0xe000:
			out = append(out, b[i:i+12]...)
			i += 12
		case r >= 0xd800 && r < 0xe000:
			out = append(out, `\ufffd`...)
			i += 6
		default:
			out = append(out, b[i:i+6]...)
			i += 6
		}
	}
	return out
}

func hex4(h []byte) rune {
	var r rune
	for _, c := range h {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			r |= rune(c-'A') + 10
		}
	}
	return r
}
