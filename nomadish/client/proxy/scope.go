package proxy

import "net"

// NamespaceScope is a network other than the client's own, such as an
// allocation's network namespace. key names it: listeners are shared only
// between allocations that ask for the same key, so each namespace needs
// its own (they each have their own 127.0.0.1); Manager.Open refuses
// "", the host's. enter runs fn on a thread inside the namespace and returns it
// to the client's own network afterwards, as network.InNamespace does:
// the listener's socket is made there and stays there. The proxy still
// accepts on it and dials instances from the client's own network.
func NamespaceScope(key string, enter func(fn func() error) error) Scope {
	return Scope{Key: key, Listen: func(network, address string) (net.Listener, error) {
		var ln net.Listener
		err := enter(func() error {
			var err error
			ln, err = net.Listen(network, address)
			return err
		})
		if err != nil && ln != nil {
			// Opened, but the thread could not leave the namespace.
			ln.Close()
			ln = nil
		}
		return ln, err
	}}
}
