package agent

import "testing"

func TestLoadConfigFile_BridgeNetwork(t *testing.T) {
	p := writeFile(t, "agent.hcl", `
client {
  enabled                     = true
  bridge_network_name         = "br-jobs"
  bridge_network_subnet       = "10.77.0.0/20"
  bridge_network_hairpin_mode = true
}
`)
	fc, err := LoadConfigFile(p)
	if err != nil {
		t.Fatalf("LoadConfigFile() error = %v", err)
	}
	c := DevConfig().Merge(fc)
	cl := c.Client
	if cl.BridgeNetworkName != "br-jobs" || cl.BridgeNetworkSubnet != "10.77.0.0/20" || cl.BridgeNetworkHairpinMode == nil || !*cl.BridgeNetworkHairpinMode {
		t.Fatalf("merged client = name %q subnet %q hairpin %v, want the file's values", cl.BridgeNetworkName, cl.BridgeNetworkSubnet, cl.BridgeNetworkHairpinMode)
	}
	if len(c.Unused) != 0 {
		t.Fatalf("Unused = %v, want the bridge options known", c.Unused)
	}
	// A later file without them keeps them.
	c = c.Merge(&Config{Client: &ClientConfig{NodeClass: "x"}})
	if c.Client.BridgeNetworkName != "br-jobs" || c.Client.BridgeNetworkSubnet != "10.77.0.0/20" {
		t.Fatalf("after a merge without bridge options: %q %q", c.Client.BridgeNetworkName, c.Client.BridgeNetworkSubnet)
	}
}
