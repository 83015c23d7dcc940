// Command ollama_render renders an Ollama Modelfile TEMPLATE the way Ollama does, so a test can compare
// it with the course's Jinja template without installing Ollama.
//
// It follows Ollama's template package: text/template with Option("missingkey=zero") and Ollama's
// template functions (json, currentDate, yesterdayDate, toTypeScriptType), executed on the data Ollama
// builds for chat requests: System (all system messages joined), Messages (consecutive messages of one
// role merged, except tool messages), Tools (in Ollama's Go types, which keep only some JSON Schema
// fields) and Response "". It also reports the tool-call tag Ollama would look for in the model's output
// (the first text inside the `if` that tests .ToolCalls) and the variables the template references.
//
// Input on stdin:  {"template": "...", "cases": [{"messages": [...], "tools": [...]}]}
// (messages and tools in the JSON form of Ollama's /api/chat request).
// Output on stdout: {"renders": ["..."], "tool_tag": "<tool_call>", "vars": ["messages", ...]}
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
)

// propertyType is a JSON Schema type: one string or a list of strings (a single one is written back as a string).
type propertyType []string

func (p *propertyType) UnmarshalJSON(data []byte) error {
	var one string
	if err := json.Unmarshal(data, &one); err == nil {
		*p = propertyType{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(data, &many); err != nil {
		return err
	}
	*p = many
	return nil
}

func (p propertyType) MarshalJSON() ([]byte, error) {
	if len(p) == 1 {
		return json.Marshal(p[0])
	}
	return json.Marshal([]string(p))
}

// toolProperty holds the fields of a parameter's schema that Ollama's api.ToolProperty keeps.
// (Ollama keeps the declaration order of nested "properties"; the course's tools nest properties only
// under "items", which Ollama keeps as a generic value, so a plain map is enough here.)
type toolProperty struct {
	AnyOf       []toolProperty          `json:"anyOf,omitempty"`
	Type        propertyType            `json:"type,omitempty"`
	Items       any                     `json:"items,omitempty"`
	Description string                  `json:"description,omitempty"`
	Enum        []any                   `json:"enum,omitempty"`
	Properties  map[string]toolProperty `json:"properties,omitempty"`
}

type toolParameters struct {
	Type       string                  `json:"type"`
	Defs       any                     `json:"$defs,omitempty"`
	Items      any                     `json:"items,omitempty"`
	Required   []string                `json:"required,omitempty"`
	Properties map[string]toolProperty `json:"properties"`
}

type toolFunction struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Parameters  toolParameters `json:"parameters"`
}

type tool struct {
	Type     string       `json:"type"`
	Items    any          `json:"items,omitempty"`
	Function toolFunction `json:"function"`
}

// arguments prints as JSON inside templates, like Ollama's template argument map.
type arguments map[string]any

func (a arguments) String() string {
	if a == nil {
		return "{}"
	}
	b, _ := json.Marshal(map[string]any(a))
	return string(b)
}

type toolCallFunction struct {
	Index     int
	Name      string
	Arguments arguments
}

type toolCall struct {
	ID       string
	Function toolCallFunction
}

// message is what a template sees for one message.
type message struct {
	Role       string
	Content    string
	Thinking   string
	Images     []string
	ToolCalls  []toolCall
	ToolName   string
	ToolCallID string
}

// requestMessage is one message of an /api/chat request.
type requestMessage struct {
	Role      string `json:"role"`
	Content   string `json:"content"`
	ToolCalls []struct {
		Function struct {
			Index     int            `json:"index"`
			Name      string         `json:"name"`
			Arguments map[string]any `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
	ToolName   string `json:"tool_name"`
	ToolCallID string `json:"tool_call_id"`
}

type input struct {
	Template string `json:"template"`
	Cases    []struct {
		Messages []requestMessage `json:"messages"`
		Tools    []tool           `json:"tools"`
	} `json:"cases"`
}

var funcs = template.FuncMap{
	"json": func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	},
	"currentDate":   func(args ...string) string { return time.Now().Format("2006-01-02") },
	"yesterdayDate": func(args ...string) string { return time.Now().AddDate(0, 0, -1).Format("2006-01-02") },
	"toTypeScriptType": func(v any) string {
		if p, ok := v.(toolProperty); ok && len(p.Type) == 1 {
			switch p.Type[0] {
			case "string":
				return "string"
			case "number", "integer":
				return "number"
			case "boolean":
				return "boolean"
			case "array":
				return "any[]"
			}
		}
		return "any"
	},
}

// collate joins the system messages and merges consecutive messages of one role (tool messages stay apart).
func collate(in []requestMessage) (string, []*message) {
	var system []string
	var out []*message
	for _, m := range in {
		if m.Role == "system" {
			system = append(system, m.Content)
		}
		if len(out) > 0 && out[len(out)-1].Role == m.Role && m.Role != "tool" {
			out[len(out)-1].Content += "\n\n" + m.Content
			continue
		}
		msg := &message{Role: m.Role, Content: m.Content, ToolName: m.ToolName, ToolCallID: m.ToolCallID}
		for _, c := range m.ToolCalls {
			args := arguments(c.Function.Arguments)
			if args == nil {
				args = arguments{}
			}
			msg.ToolCalls = append(msg.ToolCalls, toolCall{Function: toolCallFunction{Index: c.Function.Index, Name: c.Function.Name, Arguments: args}})
		}
		out = append(out, msg)
	}
	return strings.Join(system, "\n\n"), out
}

// mentionsToolCalls says whether an if-node's condition reads the field .ToolCalls.
func mentionsToolCalls(n *parse.IfNode) bool {
	for _, cmd := range n.Pipe.Cmds {
		for _, arg := range cmd.Args {
			if f, ok := arg.(*parse.FieldNode); ok {
				for _, id := range f.Ident {
					if id == "ToolCalls" {
						return true
					}
				}
			}
		}
	}
	return false
}

func children(n parse.Node) [][]parse.Node {
	var lists []*parse.ListNode
	switch n := n.(type) {
	case *parse.ListNode:
		return [][]parse.Node{n.Nodes}
	case *parse.IfNode:
		lists = []*parse.ListNode{n.List, n.ElseList}
	case *parse.RangeNode:
		lists = []*parse.ListNode{n.List, n.ElseList}
	case *parse.WithNode:
		lists = []*parse.ListNode{n.List, n.ElseList}
	}
	var out [][]parse.Node
	for _, l := range lists {
		if l != nil {
			out = append(out, l.Nodes)
		}
	}
	return out
}

func findToolCallsIf(nodes []parse.Node) *parse.IfNode {
	for _, n := range nodes {
		if ifn, ok := n.(*parse.IfNode); ok && mentionsToolCalls(ifn) {
			return ifn
		}
		for _, list := range children(n) {
			if found := findToolCallsIf(list); found != nil {
				return found
			}
		}
	}
	return nil
}

// firstText is the first non-blank text inside nodes, searching depth-first but giving up at the
// first action or at a branch that holds no text (text after them could come after the tool calls).
func firstText(nodes []parse.Node) (string, bool) {
	for _, n := range nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			if len(bytes.TrimSpace(n.Text)) > 0 {
				return string(n.Text), true
			}
		case *parse.ActionNode:
			return "", false
		case *parse.IfNode, *parse.RangeNode, *parse.WithNode, *parse.ListNode:
			for _, list := range children(n) {
				if text, ok := firstText(list); ok {
					return text, true
				}
			}
			if _, isList := n.(*parse.ListNode); !isList {
				return "", false
			}
		}
	}
	return "", false
}

// toolTag is the text that starts a tool call in the model's output ("{" when none is found).
func toolTag(t *template.Template) string {
	ifn := findToolCallsIf(t.Tree.Root.Nodes)
	if ifn == nil {
		return "{"
	}
	text, ok := firstText(ifn.List.Nodes)
	if !ok {
		return "{"
	}
	tag, _, _ := strings.Cut(text, "{")
	if tag = strings.TrimSpace(tag); tag == "" {
		return "{"
	}
	return tag
}

func identifiers(n parse.Node, seen map[string]bool) {
	switch n := n.(type) {
	case *parse.FieldNode:
		for _, id := range n.Ident {
			seen[strings.ToLower(id)] = true
		}
	case *parse.VariableNode:
		for _, id := range n.Ident {
			seen[strings.ToLower(id)] = true
		}
	case *parse.ActionNode:
		identifiers(n.Pipe, seen)
	case *parse.PipeNode:
		for _, c := range n.Cmds {
			for _, a := range c.Args {
				identifiers(a, seen)
			}
		}
	case *parse.IfNode:
		identifiers(n.Pipe, seen)
	case *parse.RangeNode:
		identifiers(n.Pipe, seen)
	case *parse.WithNode:
		identifiers(n.Pipe, seen)
	}
	for _, list := range children(n) {
		for _, c := range list {
			identifiers(c, seen)
		}
	}
}

func run() error {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		return fmt.Errorf("reading input: %w", err)
	}
	tmpl, err := template.New("").Option("missingkey=zero").Funcs(funcs).Parse(in.Template)
	if err != nil {
		return fmt.Errorf("parsing template: %w", err)
	}
	seen := map[string]bool{}
	identifiers(tmpl.Tree.Root, seen)
	var vars []string
	for v := range seen {
		vars = append(vars, v)
	}
	sort.Strings(vars)
	renders := []string{}
	for i, c := range in.Cases {
		system, messages := collate(c.Messages)
		var tools []tool
		if len(c.Tools) > 0 {
			tools = c.Tools
		}
		var b bytes.Buffer
		data := map[string]any{"System": system, "Messages": messages, "Tools": tools, "Response": "",
			"Think": false, "ThinkLevel": "", "IsThinkSet": false}
		if err := tmpl.Execute(&b, data); err != nil {
			return fmt.Errorf("case %d: %w", i, err)
		}
		renders = append(renders, b.String())
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"renders": renders, "tool_tag": toolTag(tmpl), "vars": vars})
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ollama_render:", err)
		os.Exit(1)
	}
}
