// Our stand-in for github.com/traefik/traefik/dynamic/ext (see ../../go.mod).
module github.com/traefik/traefik/dynamic/ext

go 1.26.0
