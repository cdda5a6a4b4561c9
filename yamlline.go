package toil

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// yamlLine returns the line of key (dotted) in a YAML document, or 0. It
// finds "hello.world: {port: 1}" and "hello: {world: {port: 1}}" alike, so
// errors can point at the line to fix.
func yamlLine(data []byte, key string) int {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return 0
	}
	return findLine(doc.Content[0], key)
}

func findLine(n *yaml.Node, key string) int {
	if n.Kind != yaml.MappingNode {
		return 0
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		switch {
		case k.Value == key:
			return k.Line
		case strings.HasPrefix(key, k.Value+"."):
			if line := findLine(n.Content[i+1], key[len(k.Value)+1:]); line > 0 {
				return line
			}
		}
	}
	return 0
}
