// streaming-client drives berthd's streaming server the way client-go does, with the Go libraries
// the Kubernetes stack uses: github.com/moby/spdystream (SPDY/3.1) and gorilla/websocket. It is
// built at test time from Debian's packaged sources (GOPATH mode, offline).
//
//	streaming-client -transport spdy|ws -url URL [-stdin] [-stdout] [-stderr] [-tty] [-resize 80x24,100x30]
//	streaming-client -transport spdy|ws -url URL -portforward -port N [-requests 2] -send TEXT
//
// exec/attach: the remote stdout and stderr are copied to ours, our stdin to the remote, and the
// process exits with the remote exit code (200 when the status is an error, with its message).
// portforward: sends TEXT on each forwarded connection and prints what comes back.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/moby/spdystream"
)

var (
	transport   = flag.String("transport", "spdy", "spdy or ws")
	target      = flag.String("url", "", "the URL the CRI returned")
	protocols   = flag.String("protocols", "", "comma-separated protocol versions to offer (default per mode)")
	withStdin   = flag.Bool("stdin", false, "send our stdin")
	withStdout  = flag.Bool("stdout", true, "receive stdout")
	withStderr  = flag.Bool("stderr", false, "receive stderr")
	tty         = flag.Bool("tty", false, "a terminal: open the resize stream")
	resizes     = flag.String("resize", "", "terminal sizes WxH to send, comma-separated, before stdin")
	resizeDelay = flag.Duration("resize-delay", 300*time.Millisecond, "pause after each size")
	await       = flag.String("await", "", "after the first size, wait for stdout to show this before going on")
	portforward = flag.Bool("portforward", false, "port-forward instead of exec/attach")
	port        = flag.Int("port", 0, "port to forward")
	requests    = flag.Int("requests", 1, "forwarded connections to open at once")
	send        = flag.String("send", "", "what to send on each forwarded connection (\\r\\n escapes)")
)

type terminalSize struct {
	Width  uint16
	Height uint16
}

// The subset of metav1.Status that client-go's errorDecoderV4 reads.
type status struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Reason  string `json:"reason"`
	Details *struct {
		Causes []struct {
			Type    string `json:"reason"`
			Message string `json:"message"`
		} `json:"causes"`
	} `json:"details"`
}

// watchedStdout copies to our stdout and closes seen once the output contains the -await text.
type watchedStdout struct {
	mu   sync.Mutex
	all  []byte
	seen chan struct{}
	once sync.Once
}

var stdoutWatch = &watchedStdout{seen: make(chan struct{})}

func (w *watchedStdout) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.all = append(w.all, p...)
	if strings.Contains(string(w.all), *await) {
		w.once.Do(func() { close(w.seen) })
	}
	w.mu.Unlock()
	return os.Stdout.Write(p)
}

// sendSizes sends the sizes, the first alone until the -await text shows, then calls done.
func sendSizes(sendOne func(terminalSize), done func()) {
	defer done()
	for i, s := range parseSizes() {
		sendOne(s)
		if i == 0 && *await != "" {
			select {
			case <-stdoutWatch.seen:
			case <-time.After(10 * time.Second):
			}
			continue
		}
		time.Sleep(*resizeDelay)
	}
}

type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("command terminated with exit code %d", e.code) }

func main() {
	flag.Parse()
	var err error
	switch {
	case *portforward && *transport == "spdy":
		err = portForwardSPDY()
	case *portforward:
		err = portForwardWS()
	case *transport == "spdy":
		err = execSPDY()
	default:
		err = execWS()
	}
	var ee exitError
	if errors.As(err, &ee) {
		os.Exit(ee.code)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(200)
	}
}

func offered(def ...string) []string {
	if *protocols == "" {
		return def
	}
	return strings.Split(*protocols, ",")
}

// decodeStatus turns the error stream's content into an error, as client-go's decoders do.
func decodeStatus(negotiated string, message []byte) error {
	v4 := strings.HasPrefix(negotiated, "v4.") || strings.HasPrefix(negotiated, "v5.")
	if !v4 {
		if len(message) > 0 {
			return fmt.Errorf("error executing remote command: %s", message)
		}
		return nil
	}
	var s status
	if err := json.Unmarshal(message, &s); err != nil {
		return fmt.Errorf("error stream protocol error: %v in %q", err, message)
	}
	switch s.Status {
	case "Success":
		return nil
	case "Failure":
		if s.Reason == "NonZeroExitCode" && s.Details != nil {
			for _, c := range s.Details.Causes {
				if c.Type == "ExitCode" {
					rc, err := strconv.ParseUint(c.Message, 10, 8)
					if err != nil {
						return fmt.Errorf("invalid exit code %q", c.Message)
					}
					return exitError{int(rc)}
				}
			}
		}
		return errors.New(s.Message)
	}
	return fmt.Errorf("unknown status %q", s.Status)
}

func parseSizes() []terminalSize {
	var out []terminalSize
	for _, s := range strings.Split(*resizes, ",") {
		if s == "" {
			continue
		}
		var w, h uint16
		fmt.Sscanf(s, "%dx%d", &w, &h)
		out = append(out, terminalSize{w, h})
	}
	return out
}

// --- SPDY ---

// connWithBuffer reads what the HTTP response reader buffered before the socket itself.
type connWithBuffer struct {
	net.Conn
	r *bufio.Reader
}

func (c *connWithBuffer) Read(p []byte) (int, error) { return c.r.Read(p) }

// dialSPDY performs the upgrade and returns the client connection and the negotiated protocol.
func dialSPDY(versions []string) (*spdystream.Connection, string, error) {
	u, err := url.Parse(*target)
	if err != nil {
		return nil, "", err
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		return nil, "", err
	}
	req, _ := http.NewRequest("POST", *target, nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "SPDY/3.1")
	for _, v := range versions {
		req.Header.Add("X-Stream-Protocol-Version", v)
	}
	if err := req.Write(conn); err != nil {
		return nil, "", err
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(resp.Body)
		return nil, "", fmt.Errorf("upgrade refused: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	sc, err := spdystream.NewConnection(&connWithBuffer{conn, br}, false)
	if err != nil {
		return nil, "", err
	}
	go sc.Serve(spdystream.NoOpStreamHandler)
	return sc, resp.Header.Get("X-Stream-Protocol-Version"), nil
}

func createStream(sc *spdystream.Connection, h http.Header) (*spdystream.Stream, error) {
	s, err := sc.CreateStream(h, nil, false)
	if err != nil {
		return nil, err
	}
	if err := s.WaitTimeout(30 * time.Second); err != nil {
		return nil, fmt.Errorf("stream %v: %v", h, err)
	}
	return s, nil
}

func execSPDY() error {
	sc, negotiated, err := dialSPDY(offered("v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"))
	if err != nil {
		return err
	}
	defer sc.Close()
	fmt.Fprintf(os.Stderr, "protocol: %s\n", negotiated)
	open := func(t string) (*spdystream.Stream, error) {
		h := http.Header{}
		h.Set("streamtype", t)
		return createStream(sc, h)
	}
	// client-go's order: error, stdin, stdout, stderr, resize.
	errorStream, err := open("error")
	if err != nil {
		return err
	}
	var stdin, stdout, stderr, resize *spdystream.Stream
	if *withStdin {
		if stdin, err = open("stdin"); err != nil {
			return err
		}
	}
	if *withStdout {
		if stdout, err = open("stdout"); err != nil {
			return err
		}
	}
	if *withStderr && !*tty {
		if stderr, err = open("stderr"); err != nil {
			return err
		}
	}
	if *tty {
		if resize, err = open("resize"); err != nil {
			return err
		}
	}
	errorCh := make(chan error, 1)
	go func() {
		message, err := io.ReadAll(errorStream)
		if err != nil {
			errorCh <- err
			return
		}
		errorCh <- decodeStatus(negotiated, message)
	}()
	resized := make(chan struct{})
	go func() {
		if resize == nil {
			close(resized)
			return
		}
		enc := json.NewEncoder(resize)
		sendSizes(func(s terminalSize) { enc.Encode(s) }, func() { close(resized) })
	}()
	if stdin != nil {
		go func() {
			<-resized
			io.Copy(stdin, os.Stdin)
			stdin.Close()
		}()
	}
	var wg sync.WaitGroup
	for _, p := range []struct {
		s *spdystream.Stream
		w io.Writer
	}{{stdout, stdoutWatch}, {stderr, os.Stderr}} {
		if p.s == nil {
			continue
		}
		wg.Add(1)
		go func(s *spdystream.Stream, w io.Writer) {
			defer wg.Done()
			io.Copy(w, s)
		}(p.s, p.w)
	}
	wg.Wait()
	return <-errorCh
}

func portForwardSPDY() error {
	sc, negotiated, err := dialSPDY(offered("portforward.k8s.io"))
	if err != nil {
		return err
	}
	defer sc.Close()
	fmt.Fprintf(os.Stderr, "protocol: %s\n", negotiated)
	payload := strings.ReplaceAll(*send, `\r\n`, "\r\n")
	results := make([]string, *requests)
	errs := make([]error, *requests)
	var wg sync.WaitGroup
	for i := 0; i < *requests; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			h := http.Header{}
			h.Set("streamtype", "error")
			h.Set("port", strconv.Itoa(*port))
			h.Set("requestID", strconv.Itoa(i))
			errorStream, err := createStream(sc, h)
			if err != nil {
				errs[i] = err
				return
			}
			errorStream.Close()
			h.Set("streamtype", "data")
			dataStream, err := createStream(sc, h)
			if err != nil {
				errs[i] = err
				return
			}
			io.WriteString(dataStream, strings.ReplaceAll(payload, "{i}", strconv.Itoa(i)))
			dataStream.Close()
			body, _ := io.ReadAll(dataStream)
			message, _ := io.ReadAll(errorStream)
			if len(message) > 0 {
				errs[i] = fmt.Errorf("an error occurred forwarding %d: %s", *port, message)
			}
			results[i] = string(body)
		}(i)
	}
	wg.Wait()
	for i, r := range results {
		if errs[i] != nil {
			return errs[i]
		}
		fmt.Printf("=== %d\n%s\n", i, r)
	}
	return nil
}

// --- WebSocket ---

func dialWS(query string, versions []string) (*websocket.Conn, error) {
	u := strings.Replace(*target, "http://", "ws://", 1) + query
	d := websocket.Dialer{Subprotocols: versions, HandshakeTimeout: 10 * time.Second}
	c, resp, err := d.Dial(u, nil)
	if err != nil {
		if resp != nil {
			body, _ := io.ReadAll(resp.Body)
			return nil, fmt.Errorf("%v: %s: %s", err, resp.Status, strings.TrimSpace(string(body)))
		}
		return nil, err
	}
	return c, nil
}

func execWS() error {
	c, err := dialWS("", offered("v5.channel.k8s.io", "v4.channel.k8s.io"))
	if err != nil {
		return err
	}
	defer c.Close()
	negotiated := c.Subprotocol()
	fmt.Fprintf(os.Stderr, "protocol: %s\n", negotiated)
	var mu sync.Mutex
	write := func(ch byte, data []byte) error {
		mu.Lock()
		defer mu.Unlock()
		return c.WriteMessage(websocket.BinaryMessage, append([]byte{ch}, data...))
	}
	resized := make(chan struct{})
	go func() {
		if !*tty {
			close(resized)
			return
		}
		sendSizes(func(s terminalSize) {
			b, _ := json.Marshal(s)
			write(4, b)
		}, func() { close(resized) })
	}()
	if *withStdin {
		go func() {
			<-resized
			buf := make([]byte, 32*1024)
			for {
				n, err := os.Stdin.Read(buf)
				if n > 0 {
					write(0, buf[:n])
				}
				if err != nil {
					break
				}
			}
			if negotiated == "v5.channel.k8s.io" {
				write(255, []byte{0})
			}
		}()
	}
	var errorMessage []byte
	for {
		kind, data, err := c.ReadMessage()
		if err != nil {
			if websocket.IsCloseError(err, websocket.CloseNormalClosure) {
				break
			}
			return fmt.Errorf("next reader: %v", err)
		}
		if kind != websocket.BinaryMessage || len(data) == 0 {
			return fmt.Errorf("unexpected message type %d", kind)
		}
		switch data[0] {
		case 1:
			stdoutWatch.Write(data[1:])
		case 2:
			os.Stderr.Write(data[1:])
		case 3:
			errorMessage = append(errorMessage, data[1:]...)
		}
	}
	return decodeStatus(negotiated, errorMessage)
}

func portForwardWS() error {
	c, err := dialWS(fmt.Sprintf("?port=%d", *port), offered("v4.channel.k8s.io"))
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Fprintf(os.Stderr, "protocol: %s\n", c.Subprotocol())
	var body, errorText []byte
	prefixes := 0
	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			if websocket.IsCloseError(err, websocket.CloseNormalClosure) {
				break
			}
			return err
		}
		if len(data) == 0 {
			continue
		}
		ch, payload := data[0], data[1:]
		if prefixes < 2 {
			// Each channel's first message is its port, little-endian.
			if len(payload) != 2 || int(payload[0])|int(payload[1])<<8 != *port {
				return fmt.Errorf("channel %d: expected port %d first, got %v", ch, *port, payload)
			}
			if prefixes++; prefixes == 2 {
				c.WriteMessage(websocket.BinaryMessage, append([]byte{0}, []byte(strings.ReplaceAll(strings.ReplaceAll(*send, `\r\n`, "\r\n"), "{i}", "0"))...))
			}
			continue
		}
		if ch == 0 {
			body = append(body, payload...)
		} else {
			errorText = append(errorText, payload...)
		}
	}
	if len(errorText) > 0 {
		return fmt.Errorf("an error occurred forwarding %d: %s", *port, errorText)
	}
	fmt.Printf("=== 0\n%s\n", body)
	return nil
}
