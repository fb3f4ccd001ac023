// compose-config prints the Compose project that `docker compose -f A -f B config` would
// run, as JSON: the files merged (with !reset and !override), variables interpolated,
// inactive profiles dropped, and the result checked against the Compose Specification's
// schema. It uses compose-go, the library docker compose itself loads files with, so the
// tests can check the compose files on a machine without Docker.
//
// Usage: compose-config [--profile NAME]... FILE [FILE...]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var profiles listFlag
	flag.Var(&profiles, "profile", "activate a profile (repeatable)")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: compose-config [--profile NAME]... FILE [FILE...]")
		os.Exit(64)
	}
	wd, err := os.Getwd()
	if err != nil {
		fail(err)
	}
	options, err := cli.NewProjectOptions(flag.Args(),
		cli.WithWorkingDirectory(wd),
		cli.WithOsEnv,
		cli.WithDotEnv,
		cli.WithProfiles(profiles),
		cli.WithResolvedPaths(false),
	)
	if err != nil {
		fail(err)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}
	out, err := project.MarshalJSON()
	if err != nil {
		fail(err)
	}
	fmt.Println(string(out))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
