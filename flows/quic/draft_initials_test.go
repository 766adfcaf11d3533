package quic_test

// Client Initials of the QUIC drafts that real stacks still sent after
// RFC 9000 (draft-29 was Chrome's and Cloudflare's for a year; drafts 27
// and 28 before it): their Initial salts differ from v1's, and a wrong
// salt leaves the ClientHello unreadable. The packets are the protected
// client Initials of Appendix A.2 of draft-ietf-quic-tls-27 (its salt is
// that of drafts 23 to 28) and draft-ietf-quic-tls-29 (drafts 29 to 32):
// version 0xff00001b and 0xff00001d, DCID 8394c8f03e515708, packet number
// 2, a CRYPTO frame with a ClientHello for "server" and PADDING.

import (
	"bytes"
	"encoding/hex"
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/tlsscope/tlsscope/flows"
	"github.com/tlsscope/tlsscope/flows/quic"
)

const draft27ClientInitial = "" +
	"c0ff00001b088394c8f03e5157080000449e3b343aa8535064a4268a0d9d7b1c" +
	"9d250ae355162276e9b1e3011ef6bbc0ab48ad5bcc2681e953857ca62becd752" +
	"4daac473e68d7405fbba4e9ee616c87038bdbe908c06d9605d9ac49030359eec" +
	"b1d05a14e117db8cede2bb09d0dbbfee271cb374d8f10abec82d0f59a1dee29f" +
	"e95638ed8dd41da07487468791b719c55c46968eb3b54680037102a28e53dc1d" +
	"12903db0af5821794b41c4a93357fa59ce69cfe7f6bdfa629eef78616447e1d6" +
	"11c4baf71bf33febcb03137c2c75d25317d3e13b684370f668411c0f00304b50" +
	"1c8fd422bd9b9ad81d643b20da89ca0525d24d2b142041cae0af205092e43008" +
	"0cd8559ea4c5c6e4fa3f66082b7d303e52ce0162baa958532b0bbc2bc785681f" +
	"cf37485dff6595e01e739c8ac9efba31b985d5f656cc092432d781db95221724" +
	"87641c4d3ab8ece01e39bc85b15436614775a98ba8fa12d46f9b35e2a55eb72d" +
	"7f85181a366663387ddc20551807e007673bd7e26bf9b29b5ab10a1ca87cbb7a" +
	"d97e99eb66959c2a9bc3cbde4707ff7720b110fa95354674e395812e47a0ae53" +
	"b464dcb2d1f345df360dc227270c750676f6724eb479f0d2fbb6124429990457" +
	"ac6c9167f40aab739998f38b9eccb24fd47c8410131bf65a52af841275d5b3d1" +
	"880b197df2b5dea3e6de56ebce3ffb6e9277a82082f8d9677a6767089b671ebd" +
	"244c214f0bde95c2beb02cd1172d58bdf39dce56ff68eb35ab39b49b4eac7c81" +
	"5ea60451d6e6ab82119118df02a586844a9ffe162ba006d0669ef57668cab38b" +
	"62f71a2523a084852cd1d079b3658dc2f3e87949b550bab3e177cfc49ed190df" +
	"f0630e43077c30de8f6ae081537f1e83da537da980afa668e7b7fb25301cf741" +
	"524be3c49884b42821f17552fbd1931a813017b6b6590a41ea18b6ba49cd48a4" +
	"40bd9a3346a7623fb4ba34a3ee571e3c731f35a7a3cf25b551a680fa68763507" +
	"b7fde3aaf023c50b9d22da6876ba337eb5e9dd9ec3daf970242b6c5aab3aa4b2" +
	"96ad8b9f6832f686ef70fa938b31b4e5ddd7364442d3ea72e73d668fb0937796" +
	"f462923a81a47e1cee7426ff6d9221269b5a62ec03d6ec94d12606cb485560ba" +
	"b574816009e96504249385bb61a819be04f62c2066214d8360a2022beb316240" +
	"b6c7d78bbe56c13082e0ca272661210abf020bf3b5783f1426436cf9ff418405" +
	"93a5d0638d32fc51c5c65ff291a3a7a52fd6775e623a4439cc08dd25582febc9" +
	"44ef92d8dbd329c91de3e9c9582e41f17f3d186f104ad3f90995116c682a2a14" +
	"a3b4b1f547c335f0be710fc9fc03e0e587b8cda31ce65b969878a4ad4283e6d5" +
	"b0373f43da86e9e0ffe1ae0fddd3516255bd74566f36a38703d5f34249ded1f6" +
	"6b3d9b45b9af2ccfefe984e13376b1b2c6404aa48c8026132343da3f3a33659e" +
	"c1b3e95080540b28b7f3fcd35fa5d843b579a84c089121a60d8c1754915c344e" +
	"eaf45a9bf27dc0c1e78416169122091313eb0e87555abd706626e557fc36a04f" +
	"cd191a58829104d6075c5594f627ca506bf181daec940f4a4f3af0074eee89da" +
	"acde6758312622d4fa675b39f728e062d2bee680d8f41a597c262648bb18bcfc" +
	"13c8b3d97b1a77b2ac3af745d61a34cc4709865bac824a94bb19058015e4e42d" +
	"38d3b779d72edc00c5cd088eff802b05"

const draft29ClientInitial = "" +
	"c5ff00001d088394c8f03e5157080000449e4a95245bfb66bc5f93032b7ddd89" +
	"fe0ff15d9c4f7050fccdb71c1cd80512d4431643a53aafa1b0b518b44968b18b" +
	"8d3e7a4d04c30b3ed9410325b2abb2dafb1c12f8b70479eb8df98abcaf95dd8f" +
	"3d1c78660fbc719f88b23c8aef6771f3d50e10fdfb4c9d92386d44481b6c52d5" +
	"9e5538d3d3942de9f13a7f8b702dc31724180da9df22714d01003fc5e3d165c9" +
	"50e630b8540fbd81c9df0ee63f94997026c4f2e1887a2def79050ac2d86ba318" +
	"e0b3adc4c5aa18bcf63c7cf8e85f569249813a2236a7e72269447cd1c755e451" +
	"f5e77470eb3de64c8849d292820698029cfa18e5d66176fe6e5ba4ed18026f90" +
	"900a5b4980e2f58e39151d5cd685b10929636d4f02e7fad2a5a458249f5c0298" +
	"a6d53acbe41a7fc83fa7cc01973f7a74d1237a51974e097636b6203997f921d0" +
	"7bc1940a6f2d0de9f5a11432946159ed6cc21df65c4ddd1115f86427259a196c" +
	"7148b25b6478b0dc7766e1c4d1b1f5159f90eabc61636226244642ee148b464c" +
	"9e619ee50a5e3ddc836227cad938987c4ea3c1fa7c75bbf88d89e9ada642b2b8" +
	"8fe8107b7ea375b1b64889a4e9e5c38a1c896ce275a5658d250e2d76e1ed3a34" +
	"ce7e3a3f383d0c996d0bed106c2899ca6fc263ef0455e74bb6ac1640ea7bfedc" +
	"59f03fee0e1725ea150ff4d69a7660c5542119c71de270ae7c3ecfd1af2c4ce5" +
	"51986949cc34a66b3e216bfe18b347e6c05fd050f85912db303a8f054ec23e38" +
	"f44d1c725ab641ae929fecc8e3cefa5619df4231f5b4c009fa0c0bbc60bc75f7" +
	"6d06ef154fc8577077d9d6a1d2bd9bf081dc783ece60111bea7da9e5a9748069" +
	"d078b2bef48de04cabe3755b197d52b32046949ecaa310274b4aac0d008b1948" +
	"c1082cdfe2083e386d4fd84c0ed0666d3ee26c4515c4fee73433ac703b690a9f" +
	"7bf278a77486ace44c489a0c7ac8dfe4d1a58fb3a730b993ff0f0d61b4d89557" +
	"831eb4c752ffd39c10f6b9f46d8db278da624fd800e4af85548a294c1518893a" +
	"8778c4f6d6d73c93df200960104e062b388ea97dcf4016bced7f62b4f062cb6c" +
	"04c20693d9a0e3b74ba8fe74cc01237884f40d765ae56a51688d985cf0ceaef4" +
	"3045ed8c3f0c33bced08537f6882613acd3b08d665fce9dd8aa73171e2d3771a" +
	"61dba2790e491d413d93d987e2745af29418e428be34941485c93447520ffe23" +
	"1da2304d6a0fd5d07d0837220236966159bef3cf904d722324dd852513df39ae" +
	"030d8173908da6364786d3c1bfcb19ea77a63b25f1e7fc661def480c5d00d444" +
	"56269ebd84efd8e3a8b2c257eec76060682848cbf5194bc99e49ee75e4d0d254" +
	"bad4bfd74970c30e44b65511d4ad0e6ec7398e08e01307eeeea14e46ccd87cf3" +
	"6b285221254d8fc6a6765c524ded0085dca5bd688ddf722e2c0faf9d0fb2ce7a" +
	"0c3f2cee19ca0ffba461ca8dc5d2c8178b0762cf67135558494d2a96f1a139f0" +
	"edb42d2af89a9c9122b07acbc29e5e722df8615c343702491098478a389c9872" +
	"a10b0c9875125e257c7bfdf27eef4060bd3d00f4c14fd3e3496c38d3c5d1a566" +
	"8c39350effbc2d16ca17be4ce29f02ed969504dda2a8c6b9ff919e693ee79e09" +
	"089316e7d1d89ec099db3b2b268725d888536a4b8bf9aee8fb43e82a4d919d48" +
	"43b1ca70a2d8d3f725ead1391377dcc0"

// draftCryptoFrame is the start of both packets' payload (A.2): the
// CRYPTO frame header (offset 0, length 196) and the ClientHello's.
const draftCryptoFrame = "060040c4010000c00303"

var draftInitials = []struct {
	name    string
	version quic.Version
	packet  string
}{
	{"draft-27", 0xff00001b, draft27ClientInitial},
	{"draft-29", quic.Draft29, draft29ClientInitial},
}

// TestDraftClientInitialsOpen: each draft's Initial opens with the keys of
// its own salt, and its payload is the ClientHello's CRYPTO frame.
func TestDraftClientInitialsOpen(t *testing.T) {
	dcid, _ := hex.DecodeString("8394c8f03e515708")
	for _, d := range draftInitials {
		t.Run(d.name, func(t *testing.T) {
			raw, err := hex.DecodeString(d.packet)
			if err != nil || len(raw) != 1200 {
				t.Fatalf("%d bytes, %v", len(raw), err)
			}
			pkts, err := quic.ParseDatagram(raw, -1)
			if err != nil || len(pkts) != 1 || pkts[0].Type != quic.Initial || pkts[0].Version != d.version || !bytes.Equal(pkts[0].DCID, dcid) {
				t.Fatalf("parsed %+v, %v", pkts, err)
			}
			cl, _, err := quic.InitialOpeners(d.version, dcid)
			if err != nil {
				t.Fatal(err)
			}
			pn, payload, err := cl.Open(&pkts[0], -1)
			if err != nil {
				t.Fatalf("the Initial does not open with %s's keys: %v", d.name, err)
			}
			want, _ := hex.DecodeString(draftCryptoFrame)
			if pn != 2 || !bytes.HasPrefix(payload, want) {
				t.Errorf("packet number %d, payload %x…; want 2, %s…", pn, payload[:min(len(payload), 10)], draftCryptoFrame)
			}
		})
	}
}

// TestDraftClientHellosDecode: the analyzer reads each draft's Initial,
// sent to UDP port 443, as a QUIC connection of that version whose
// ClientHello decodes.
func TestDraftClientHellosDecode(t *testing.T) {
	for _, d := range draftInitials {
		t.Run(d.name, func(t *testing.T) {
			raw, _ := hex.DecodeString(d.packet)
			a := flows.NewAnalyzer(flows.DefaultOptions)
			frame := clientDatagram(t, raw)
			a.Packet(frame, gopacket.CaptureInfo{Timestamp: time.Date(2020, 6, 1, 0, 0, 0, 0, time.UTC), CaptureLength: len(frame), Length: len(frame)}, layers.LinkTypeEthernet)
			rs := a.Finish()
			if len(rs) != 1 || rs[0].QUIC == nil {
				t.Fatalf("%d results, want one QUIC connection", len(rs))
			}
			r := rs[0]
			if r.QUIC.Version != d.version {
				t.Errorf("version %s, want %s", r.QUIC.Version, d.version)
			}
			ch := r.HS.ClientHello
			if ch == nil {
				t.Fatalf("no ClientHello decoded (problems %v)", r.HS.Problems)
			}
			if ch.ServerName != "server" || len(ch.CipherSuites) != 3 {
				t.Errorf("ClientHello for %q with %d suites, want \"server\" and 3", ch.ServerName, len(ch.CipherSuites))
			}
		})
	}
}

// clientDatagram is an Ethernet/IPv4/UDP frame from a client to port 443.
func clientDatagram(t *testing.T, payload []byte) []byte {
	t.Helper()
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IPv4(192, 0, 2, 1).To4(), DstIP: net.IPv4(198, 51, 100, 1).To4()}
	udp := &layers.UDP{SrcPort: 40000, DstPort: 443}
	udp.SetNetworkLayerForChecksum(ip)
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, udp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
