// Package ext stands in for Traefik's dynamic configuration extension point,
// which upstream builds leave empty: the extension types carry no fields.
package ext

// HTTP extends dynamic.HTTP.
type HTTP struct{}

// Router extends dynamic.Router.
type Router struct{}

// RouterIng extends the Kubernetes Ingress provider's router annotations.
type RouterIng struct{}

// ToRouter converts the annotation extension into the router extension.
func (RouterIng) ToRouter() Router { return Router{} }
