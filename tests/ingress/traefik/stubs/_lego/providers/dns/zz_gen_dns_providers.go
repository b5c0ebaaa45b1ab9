// Package dns replaces lego's generated DNS-provider list in the copy that
// build.sh makes (see ../../../../go.mod): no DNS provider, so none of the cloud SDKs
// behind them is needed. Traefik only reaches this for an ACME DNS challenge.
package dns

import (
	"fmt"

	"github.com/go-acme/lego/v5/challenge"
)

// NewDNSChallengeProviderByName refuses every provider name.
func NewDNSChallengeProviderByName(name string) (challenge.Provider, error) {
	return nil, fmt.Errorf("DNS provider %q is not built into this test Traefik (ACME DNS challenges are stubbed out)", name)
}
