package decoder

import (
	"fmt"
	"time"
)

// sslv2 reads one SSL 2.0 handshake record (draft-hickman-netscape-ssl-00
// §2.5): CLIENT-HELLO, SERVER-HELLO, CLIENT-MASTER-KEY and ERROR in the
// clear, everything after the master key protected.
func (c *Conn) sslv2(d Dir, rec record, n int, t time.Time) {
	m := &c.m
	side := c.role(d)
	body := rec.body
	msg := Message{Time: t, From: side, Length: n, Offset: rec.offset, End: rec.end, Frame: c.frame}
	protected := m.protected(side)
	switch {
	case !protected && body[0] == 1 && m.HS.ClientHello == nil:
		c.decideRoles(d, true)
		side = c.role(d)
		msg.From = side
		m.anyHello = true
		ch := new(ClientHello)
		if !ch.unmarshalSSLv2(body) {
			m.problem(side, Pos{Time: t, Frame: c.frame}, ProblemMalformed, "malformed SSL 2.0 ClientHello")
			c.rl[d].mode = frameDead
			return
		}
		m.HS.ClientHello = ch
		msg.Type, msg.Note = MsgClientHello, "SSL 2.0 format, "+helloNote(ch)
		m.mark(side, typeClientHello)
		if ch.Version != VersionSSL20 {
			// The rest of the connection speaks SSL 3.0 or TLS records.
			c.rl[d].mode = frameRecords
		}
	case !protected && body[0] == 4 && side == Server:
		// SERVER-HELLO: session_id_hit, cert type, version, lengths.
		sh := &ServerHello{Raw: body, SSLv2: true, Version: VersionSSL20}
		if len(body) >= 11 {
			sh.Version = uint16(body[3])<<8 | uint16(body[4])
			certLen := int(body[5])<<8 | int(body[6])
			if 11+certLen <= len(body) && certLen > 0 {
				m.HS.ServerCertificates = []*Certificate{ParseCertificate(body[11 : 11+certLen])}
			}
		}
		if m.HS.ServerHello == nil {
			m.HS.ServerHello = sh
		}
		msg.Type, msg.Note = MsgServerHello, "SSL 2.0"
		m.mark(side, typeServerHello)
	case !protected && body[0] == 2 && side == Client:
		msg.Type = MsgClientMasterKey
		m.sides[side].finished = true
		m.setEpoch(Client, EpochApplication)
		m.setEpoch(Server, EpochApplication)
	case !protected && body[0] == 0:
		msg.Type = MsgSSLv2Error
		if len(body) >= 3 {
			msg.Note = fmt.Sprintf("SSL 2.0 error 0x%04x", uint16(body[1])<<8|uint16(body[2]))
		}
		m.HS.Alerts = append(m.HS.Alerts, Alert{From: side, Level: 2, Description: 40})
	default:
		msg.Type, msg.Encrypted = MsgEncryptedHandshake, true
		if side == Server && m.sides[Client].finished {
			m.sides[side].finished = true
			m.noteFinished(t)
		}
	}
	m.addMessage(msg)
}
