package queries

import (
	"errors"
	"strings"
)

// sqlToken is one lexical token of a SQL text: its kind and where it is.
type sqlToken struct {
	kind       byte // 'w' word, 'i' quoted identifier, 's' string, 'n' number, 'p' punctuation
	start, end int  // byte offsets in the text
}

var errLex = errors.New("unterminated string, identifier or comment")

// lexSQL splits a SQL text into tokens the way DuckDB's (PostgreSQL's)
// lexer does for what the sandbox needs to know: where the statement's
// words, strings and quoted identifiers are, with comments and whitespace
// left out. It understands ” and "" doubling, E'\” escapes, $tag$ dollar
// quoting, -- line comments and nested /* */ block comments.
//
// The sandbox uses it only to find a leading EXPLAIN, the first keyword
// (for messages) and the end of the statement (to drop a trailing ';').
// It never decides what is allowed: DuckDB's own parser does (see wall.go),
// and the statement that runs is checked to hold exactly the parsed one.
func lexSQL(s string) ([]sqlToken, error) {
	var out []sqlToken
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			depth := 0
			for {
				if i+1 >= len(s) {
					return out, errLex
				}
				if s[i] == '/' && s[i+1] == '*' {
					depth++
					i += 2
					continue
				}
				if s[i] == '*' && s[i+1] == '/' {
					depth--
					i += 2
					if depth == 0 {
						break
					}
					continue
				}
				i++
			}
		case c == '\'':
			end, err := quoted(s, i, '\'', false)
			if err != nil {
				return out, err
			}
			out = append(out, sqlToken{'s', i, end})
			i = end
		case (c == 'e' || c == 'E') && i+1 < len(s) && s[i+1] == '\'':
			end, err := quoted(s, i+1, '\'', true)
			if err != nil {
				return out, err
			}
			out = append(out, sqlToken{'s', i, end})
			i = end
		case c == '"':
			end, err := quoted(s, i, '"', false)
			if err != nil {
				return out, err
			}
			out = append(out, sqlToken{'i', i, end})
			i = end
		case c == '$' && dollarTag(s, i) != "":
			tag := dollarTag(s, i)
			j := strings.Index(s[i+len(tag):], tag)
			if j < 0 {
				return out, errLex
			}
			end := i + len(tag) + j + len(tag)
			out = append(out, sqlToken{'s', i, end})
			i = end
		case isWordStart(c):
			j := i + 1
			for j < len(s) && isWordPart(s[j]) {
				j++
			}
			out = append(out, sqlToken{'w', i, j})
			i = j
		case c >= '0' && c <= '9':
			j := i + 1
			for j < len(s) && (isWordPart(s[j]) || s[j] == '.') {
				j++
			}
			out = append(out, sqlToken{'n', i, j})
			i = j
		default:
			out = append(out, sqlToken{'p', i, i + 1})
			i++
		}
	}
	return out, nil
}

// quoted returns the end of the quoted text starting at s[i] == q.
func quoted(s string, i int, q byte, backslash bool) (int, error) {
	for j := i + 1; j < len(s); j++ {
		switch {
		case backslash && s[j] == '\\':
			j++
		case s[j] == q:
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j + 1, nil
		}
	}
	return 0, errLex
}

// dollarTag returns the $tag$ starting at s[i], or "".
func dollarTag(s string, i int) string {
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == '$':
			return s[i : j+1]
		case !isWordPart(s[j]) || (j == i+1 && s[j] >= '0' && s[j] <= '9'):
			return ""
		}
	}
	return ""
}

func isWordStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isWordPart(c byte) bool { return isWordStart(c) || c >= '0' && c <= '9' || c == '$' }

// word returns the upper-cased text of tok if it is a word, else "".
func (t sqlToken) word(s string) string {
	if t.kind != 'w' {
		return ""
	}
	return strings.ToUpper(s[t.start:t.end])
}

// splitExplain returns the statement after a leading EXPLAIN [ANALYZE],
// and whether there was one.
func splitExplain(s string, toks []sqlToken) (body string, explain bool) {
	if len(toks) == 0 || toks[0].word(s) != "EXPLAIN" {
		return s, false
	}
	k := 1
	if len(toks) > 1 {
		if w := toks[1].word(s); w == "ANALYZE" || w == "ANALYSE" {
			k = 2
		}
	}
	if k >= len(toks) {
		return "", true
	}
	return s[toks[k].start:], true
}

// trimStatement drops what follows the statement's last token that is not
// a ';': trailing semicolons, comments and whitespace.
func trimStatement(s string, toks []sqlToken) string {
	for i := len(toks) - 1; i >= 0; i-- {
		if toks[i].kind == 'p' && s[toks[i].start] == ';' {
			continue
		}
		return s[:toks[i].end]
	}
	return ""
}

// statements counts the statements of a text: runs of tokens between
// semicolons.
func statements(s string, toks []sqlToken) int {
	n, open := 0, false
	for _, t := range toks {
		if t.kind == 'p' && s[t.start] == ';' {
			open = false
			continue
		}
		if !open {
			n++
			open = true
		}
	}
	return n
}

// Token is one lexical token of a SQL text, as lexSQL splits it: Kind is
// 'w' (word), 'i' (quoted identifier), 's' (string), 'n' (number) or 'p'
// (one punctuation character); the token is s[Start:End].
type Token struct {
	Kind       byte
	Start, End int
}

// Tokens splits a SQL text into tokens, leaving out comments and
// whitespace (for a PostgreSQL endpoint that must find statements and
// words outside strings). It never decides what the sandbox allows.
func Tokens(s string) ([]Token, error) {
	toks, err := lexSQL(s)
	out := make([]Token, len(toks))
	for i, t := range toks {
		out[i] = Token{t.kind, t.start, t.end}
	}
	return out, err
}

// SplitStatements splits a text of several statements at the semicolons
// that end them (not those inside strings, identifiers or comments), each
// statement without its ';'. Empty statements are left out.
func SplitStatements(s string) ([]string, error) {
	toks, err := lexSQL(s)
	if err != nil {
		return nil, err
	}
	var out []string
	start := -1
	for _, t := range toks {
		if t.kind == 'p' && s[t.start] == ';' {
			if start >= 0 {
				out = append(out, s[start:t.start])
			}
			start = -1
			continue
		}
		if start < 0 {
			start = t.start
		}
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out, nil
}
