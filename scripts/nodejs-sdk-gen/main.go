// Command nodejs-sdk-gen writes the Node.js (TypeScript) SDK of a Pulumi package schema.
//
// `pulumi package gen-sdk --language nodejs` hands the schema to the pulumi-language-nodejs
// plugin, whose GeneratePackage binds it (schema.BindSpec) and calls the code generator
// pkg/v3/codegen/nodejs.GeneratePackage (pulumi/pulumi sdk/nodejs/cmd/pulumi-language-nodejs/main.go).
// That plugin's Go module is not served by the module proxy this project builds from, so this
// command makes the same two calls, from the pkg/v3 module of the CLI's own version.
//
// Usage: nodejs-sdk-gen SCHEMA.json OUT_DIR
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

// noDependencies refuses every package reference: the schema must stand alone.
type noDependencies struct{}

func refused(name string) error {
	return fmt.Errorf("package %q: this generator takes schemas without dependencies", name)
}

func (noDependencies) LoadPackage(pkg string, _ *semver.Version) (*schema.Package, error) {
	return nil, refused(pkg)
}

func (noDependencies) LoadPackageV2(_ context.Context, d *schema.PackageDescriptor) (*schema.Package, error) {
	return nil, refused(d.Name)
}

func (noDependencies) LoadPackageReference(pkg string, _ *semver.Version) (schema.PackageReference, error) {
	return nil, refused(pkg)
}

func (noDependencies) LoadPackageReferenceV2(
	_ context.Context, d *schema.PackageDescriptor,
) (schema.PackageReference, error) {
	return nil, refused(d.Name)
}

func run(schemaPath, out string) error {
	data, err := os.ReadFile(schemaPath)
	if err != nil {
		return err
	}
	var spec schema.PackageSpec
	if err := json.Unmarshal(data, &spec); err != nil {
		return fmt.Errorf("%s: %w", schemaPath, err)
	}
	loader := noDependencies{}
	pkg, diags, err := schema.BindSpec(spec, loader, schema.ValidationOptions{})
	if err != nil {
		return err
	}
	if diags.HasErrors() {
		return fmt.Errorf("%s: %s", schemaPath, diags.Error())
	}
	files, err := nodejs.GeneratePackage("pulumi-language-nodejs", pkg, nil, nil, false, loader)
	if err != nil {
		return err
	}
	for name, content := range files {
		path := filepath.Join(out, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, content, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: nodejs-sdk-gen SCHEMA.json OUT_DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "nodejs-sdk-gen:", err)
		os.Exit(1)
	}
}
