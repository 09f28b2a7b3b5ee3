package engine

import (
	"maps"

	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// nodeParser is the library's Socket.IO parser with one difference in what
// it writes: a middleware's CONNECT_ERROR carries no "data" key when the
// error has no data, as Node writes it (44{"message":"invalid username"}).
// The library writes "data":null, which Node's client tolerates but the
// library's own Go client rejects as a malformed packet.
type nodeParser struct{ parser.Parser }

func (p nodeParser) NewEncoder() parser.Encoder { return nodeEncoder{p.Parser.NewEncoder()} }

type nodeEncoder struct{ parser.Encoder }

func (e nodeEncoder) Encode(p *parser.Packet) []types.BufferInterface {
	if p.Type != parser.CONNECT_ERROR {
		return e.Encoder.Encode(p)
	}
	if m, ok := p.Data.(map[string]any); ok {
		if v, has := m["data"]; has && v == nil {
			m = maps.Clone(m)
			delete(m, "data")
			cp := *p
			cp.Data = m
			p = &cp
		}
	}
	return e.Encoder.Encode(p)
}
