package transform

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"unicode/utf8"
)

// This file holds a small, iterative JSON scanner. Every byte that reaches a
// decoder is first validated by scanValue, which also enforces the nesting
// limit without recursion, so no later parse (ours or encoding/json) can run
// out of stack. After validation the cheaper helpers (skipValid, eachField,
// eachElem) walk values without re-checking them.

// errTooDeep marks a value nested deeper than Config.MaxJSONDepth.
var errTooDeep = errors.New("nesting too deep")

// syntaxError is a JSON syntax error at a byte offset.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("invalid JSON at byte %d: %s", e.off, e.msg) }

var wsTable = [256]bool{' ': true, '\n': true, '\t': true, '\r': true}

func isWS(c byte) bool { return wsTable[c] }

func skipWS(b []byte, i int) int {
	for i < len(b) && isWS(b[i]) {
		i++
	}
	return i
}

// strStop marks bytes that end the fast path of a string scan.
var strStop = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// scanString validates the string starting at b[i] == '"' and returns the
// offset after its closing quote.
func scanString(b []byte, i int) (int, error) {
	start := i
	i++
	for {
		for i+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[i:])
			if m := hasByte(x, '"') | hasByte(x, '\\') | hasLess(x, 0x20); m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		for i < len(b) && !strStop[b[i]] {
			i++
		}
		if i >= len(b) {
			return i, &syntaxError{start, "unterminated string"}
		}
		switch b[i] {
		case '"':
			return i + 1, nil
		case '\\':
			if i+1 >= len(b) {
				return i, &syntaxError{i, "unterminated escape"}
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return i, &syntaxError{i, "short \\u escape"}
				}
				for _, h := range b[i+2 : i+6] {
					if !isHex(h) {
						return i, &syntaxError{i, "bad \\u escape"}
					}
				}
				i += 6
			default:
				return i, &syntaxError{i, "bad escape"}
			}
		default:
			return i, &syntaxError{i, "control character in string"}
		}
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func scanNumber(b []byte, i int) (int, error) {
	start := i
	if b[i] == '-' {
		i++
	}
	if i >= len(b) || !isDigit(b[i]) {
		return i, &syntaxError{start, "bad number"}
	}
	if b[i] == '0' {
		i++
	} else {
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return i, &syntaxError{start, "bad number"}
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return i, &syntaxError{start, "bad number"}
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i, nil
}

func scanLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, &syntaxError{i, "invalid literal"}
	}
	return i + len(lit), nil
}

// scanValue validates one JSON value starting at or after b[i] (leading
// whitespace skipped) and returns the offset just after it. Containers
// nested deeper than maxDepth fail with errTooDeep. It never recurses.
func scanValue(b []byte, i, maxDepth int) (int, error) {
	end, _, err := scanValueWS(b, i, maxDepth)
	return end, err
}

// scanValueWS is scanValue that also reports whether the value holds
// whitespace outside strings (and so needs compacting when copied).
func scanValueWS(b []byte, i, maxDepth int) (end int, ws bool, err error) {
	var stackBuf [64]byte
	stack := stackBuf[:0]
	i = skipWS(b, i)
	for {
		// A value is expected at b[i].
		if i >= len(b) {
			return i, ws, &syntaxError{i, "unexpected end of input"}
		}
		switch c := b[i]; {
		case c == '{' || c == '[':
			if len(stack) >= maxDepth {
				return i, ws, errTooDeep
			}
			stack = append(stack, c)
			if j := skipWS(b, i+1); j != i+1 {
				ws, i = true, j
			} else {
				i = j
			}
			if i < len(b) && (c == '{' && b[i] == '}' || c == '[' && b[i] == ']') {
				i++
				stack = stack[:len(stack)-1]
				break
			}
			if c == '{' {
				var kws bool
				if i, kws, err = scanKey(b, i); err != nil {
					return i, ws, err
				}
				ws = ws || kws
			}
			continue
		case c == '"':
			i, err = scanString(b, i)
		case c == 't':
			i, err = scanLiteral(b, i, "true")
		case c == 'f':
			i, err = scanLiteral(b, i, "false")
		case c == 'n':
			i, err = scanLiteral(b, i, "null")
		case c == '-' || isDigit(c):
			i, err = scanNumber(b, i)
		default:
			return i, ws, &syntaxError{i, fmt.Sprintf("unexpected character %q", c)}
		}
		if err != nil {
			return i, ws, err
		}
		// After a value: close containers or move to the next element.
		for {
			if len(stack) == 0 {
				return i, ws, nil
			}
			if j := skipWS(b, i); j != i {
				ws, i = true, j
			}
			if i >= len(b) {
				return i, ws, &syntaxError{i, "unexpected end of input"}
			}
			top := stack[len(stack)-1]
			if b[i] == ',' {
				i++
				if j := skipWS(b, i); j != i {
					ws, i = true, j
				}
				if top == '{' {
					var kws bool
					if i, kws, err = scanKey(b, i); err != nil {
						return i, ws, err
					}
					ws = ws || kws
				}
				break
			}
			if top == '{' && b[i] == '}' || top == '[' && b[i] == ']' {
				i++
				stack = stack[:len(stack)-1]
				continue
			}
			return i, ws, &syntaxError{i, fmt.Sprintf("unexpected character %q after value", b[i])}
		}
	}
}

// scanKey validates `"key" :` at b[i] and returns the offset of the value
// and whether it skipped whitespace.
func scanKey(b []byte, i int) (int, bool, error) {
	if i >= len(b) || b[i] != '"' {
		return i, false, &syntaxError{i, "expected object key"}
	}
	i, err := scanString(b, i)
	if err != nil {
		return i, false, err
	}
	j := skipWS(b, i)
	if j >= len(b) || b[j] != ':' {
		return j, false, &syntaxError{j, "expected ':' after object key"}
	}
	k := skipWS(b, j+1)
	return k, j != i || k != j+1, nil
}

// skipString returns the offset after the valid string at b[i].
func skipString(b []byte, i int) int {
	i++
	for {
		for i+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[i:])
			if m := hasByte(x, '"') | hasByte(x, '\\'); m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		for i < len(b) && b[i] != '"' && b[i] != '\\' {
			i++
		}
		if i >= len(b) {
			return i
		}
		if b[i] == '"' {
			return i + 1
		}
		i += 2
	}
}

// SWAR helpers: the lowest set high bit marks the first matching byte
// (higher bits may be false positives, so only the lowest is used).
const (
	swarLo = 0x0101010101010101
	swarHi = 0x8080808080808080
)

func hasByte(x uint64, c byte) uint64 {
	y := x ^ (swarLo * uint64(c))
	return (y - swarLo) &^ y & swarHi
}

func hasLess(x uint64, c byte) uint64 { return (x - swarLo*uint64(c)) &^ x & swarHi }

// structural marks the bytes skipValid must look at inside containers.
var structural = func() (t [256]bool) {
	for _, c := range []byte(`"{}[]`) {
		t[c] = true
	}
	return t
}()

// skipValid returns the offset after the already validated value at b[i].
func skipValid(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			c := b[i]
			if !structural[c] {
				i++
				continue
			}
			switch c {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			default:
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default:
		for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && !isWS(b[i]) {
			i++
		}
		return i
	}
}

// walkObject calls fn for each member of the validated object at b[i]
// with the member's raw key and the offset of its value; fn returns the
// offset just after the value. walkObject returns the offset after the
// object. It lets a caller descend into a value without skipping it first.
func walkObject(b []byte, i int, fn func(key []byte, vi int) int) int {
	i = skipWS(b, i)
	if i >= len(b) || b[i] != '{' {
		return skipValid(b, i)
	}
	i = skipWS(b, i+1)
	for i < len(b) && b[i] == '"' {
		ke := skipString(b, i)
		key := b[i+1 : ke-1]
		i = skipWS(b, ke)
		i = skipWS(b, i+1) // ':'
		i = skipWS(b, fn(key, i))
		if i < len(b) && b[i] == ',' {
			i = skipWS(b, i+1)
		}
	}
	if i < len(b) && b[i] == '}' {
		i++
	}
	return i
}

// walkArray is walkObject for arrays: fn gets the element's index and
// offset and returns the offset after it.
func walkArray(b []byte, i int, fn func(n, vi int) int) int {
	i = skipWS(b, i)
	if i >= len(b) || b[i] != '[' {
		return skipValid(b, i)
	}
	i = skipWS(b, i+1)
	for n := 0; i < len(b) && b[i] != ']'; n++ {
		i = skipWS(b, fn(n, i))
		if i < len(b) && b[i] == ',' {
			i = skipWS(b, i+1)
		}
	}
	if i < len(b) && b[i] == ']' {
		i++
	}
	return i
}

// eachField calls fn for every member of the validated object obj, with the
// key's raw bytes (without quotes, escapes not decoded) and the value's raw
// bytes. fn returns false to stop.
func eachField(obj []byte, fn func(key, val []byte) bool) {
	i := skipWS(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return
	}
	i = skipWS(obj, i+1)
	for i < len(obj) && obj[i] == '"' {
		ke := skipString(obj, i)
		key := obj[i+1 : ke-1]
		i = skipWS(obj, ke)
		i = skipWS(obj, i+1) // ':'
		ve := skipValid(obj, i)
		if !fn(key, obj[i:ve]) {
			return
		}
		i = skipWS(obj, ve)
		if i < len(obj) && obj[i] == ',' {
			i = skipWS(obj, i+1)
		}
	}
}

// eachElem calls fn for every element of the validated array arr.
func eachElem(arr []byte, fn func(i int, val []byte) bool) {
	i := skipWS(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return
	}
	i = skipWS(arr, i+1)
	for n := 0; i < len(arr) && arr[i] != ']'; n++ {
		ve := skipValid(arr, i)
		if !fn(n, arr[i:ve]) {
			return
		}
		i = skipWS(arr, ve)
		if i < len(arr) && arr[i] == ',' {
			i = skipWS(arr, i+1)
		}
	}
}

// field returns the raw value of key in the validated object obj, or nil.
func field(obj []byte, key string) []byte {
	var out []byte
	eachField(obj, func(k, v []byte) bool {
		if string(k) == key {
			out = v
			return false
		}
		return true
	})
	return out
}

// str decodes a raw JSON string value; other value types give "".
func str(raw []byte) string {
	if len(raw) < 2 || raw[0] != '"' {
		return ""
	}
	inner := raw[1 : len(raw)-1]
	for _, c := range inner {
		if c == '\\' {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return ""
			}
			return s
		}
	}
	return string(inner)
}

// scalarText returns a string value decoded, a number or boolean as its
// literal text, and "" for null, objects and arrays.
func scalarText(raw []byte) string {
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		return str(raw)
	case '{', '[', 'n':
		return ""
	}
	return string(raw)
}

// keyString decodes a raw object key (bytes between the quotes).
func keyString(k []byte) string {
	for _, c := range k {
		if c == '\\' {
			q := make([]byte, 0, len(k)+2)
			q = append(append(append(q, '"'), k...), '"')
			return str(q)
		}
	}
	return string(k)
}

// isObject reports whether raw is a JSON object.
func isObject(raw []byte) bool { return len(raw) > 0 && raw[0] == '{' }

// isArray reports whether raw is a JSON array.
func isArray(raw []byte) bool { return len(raw) > 0 && raw[0] == '[' }

// attrWriter builds the attributes JSON object text.
type attrWriter struct {
	buf []byte
	n   int
	// compact: values may hold insignificant whitespace to strip.
	compact bool
}

func (a *attrWriter) reset() { a.buf, a.n, a.compact = a.buf[:0], 0, true }

func (a *attrWriter) sep() {
	if a.n == 0 {
		a.buf = append(a.buf, '{')
	} else {
		a.buf = append(a.buf, ',')
	}
	a.n++
}

// raw adds a member whose key is raw key bytes (no quotes) and whose value is
// validated JSON, compacted on the way.
func (a *attrWriter) raw(key, val []byte) {
	a.sep()
	a.buf = append(a.buf, '"')
	a.buf = append(a.buf, key...)
	a.buf = append(a.buf, '"', ':')
	if a.compact {
		a.buf = appendCompact(a.buf, val)
	} else {
		a.buf = append(a.buf, val...)
	}
}

// str adds a member with a string value.
func (a *attrWriter) str(key, val string) {
	a.sep()
	a.buf = AppendJSONString(a.buf, key)
	a.buf = append(a.buf, ':')
	a.buf = AppendJSONString(a.buf, val)
}

// json adds a member whose value is validated JSON.
func (a *attrWriter) json(key string, val []byte) {
	a.sep()
	a.buf = AppendJSONString(a.buf, key)
	a.buf = append(a.buf, ':')
	a.buf = appendCompact(a.buf, val)
}

// String returns the object text, "" when no member was added.
func (a *attrWriter) String() string {
	if a.n == 0 {
		return ""
	}
	return string(append(a.buf, '}'))
}

// appendCompact appends the validated JSON value v without insignificant whitespace.
func appendCompact(dst, v []byte) []byte {
	ws := false
	for _, c := range v {
		if isWS(c) {
			ws = true
			break
		}
	}
	if !ws {
		return append(dst, v...)
	}
	for i := 0; i < len(v); {
		c := v[i]
		switch {
		case c == '"':
			e := skipString(v, i)
			dst = append(dst, v[i:e]...)
			i = e
		case isWS(c):
			i++
		default:
			dst = append(dst, c)
			i++
		}
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string the way encoding/json does
// without HTML escaping: quote, backslash and control characters escaped
// (\b \f \n \r \t short), invalid UTF-8 as \ufffd, U+2028 and U+2029
// escaped. The decoders build attributes with it and the query writers
// their JSON (queries/format.go), so both write the same bytes.
func AppendJSONString[S string | []byte](b []byte, s S) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(string(s[i:min(len(s), i+utf8.UTFMax)]))
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
