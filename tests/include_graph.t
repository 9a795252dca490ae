#!/usr/bin/env perl
# tools/include-graph: the module include graph has no cycle (beyond the
# cycles the Makefile names as being broken elsewhere), and the checker
# really finds cycles: direct, through a third module, and through a
# module's private files (X_*.c, X_int.h belong to X).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Path qw(make_path);
use Test::More;
use KGTest qw(root tmpdir write_file);


my $ROOT = root();
my $TOOL = "$ROOT/tools/include-graph";

sub graph {
    my ($dir, @args) = @_;
    my $out = `"$TOOL" @args "$dir" 2>&1`;
    return ($? >> 8, $out);
}

# A tree of files: { 'src/a.c' => [qw(a b)] } includes a.h and b.h.
my $trees = 0;
sub tree {
    my (%files) = @_;
    my $name = 'tree-' . ++$trees;
    my $dir = tmpdir() . "/$name";
    make_path("$dir/src", "$dir/include/kguard");
    for my $f (sort keys %files) {
        my $text = "/* $f */\n";
        $text .= /^</ ? "#include $_\n" : qq(#include "$_"\n) for @{ $files{$f} };
        write_file($text, "$name/$f");
    }
    return $dir;
}

my ($rc, $out) = graph($ROOT, '--allow', 'finding,rules');
is($rc, 0, 'the project has no include cycle besides finding <-> rules') or diag $out;
unlike($out, qr/include cycle among event,workload/, 'event and workload no longer need each other');

my $dir = tree(
    'include/kguard/event.h'    => [],
    'include/kguard/workload.h' => ['kguard/event.h'],
    'src/event.c'               => ['kguard/event.h', 'kguard/workload.h'],
    'src/workload.c'            => ['kguard/workload.h'],
);
($rc, $out) = graph($dir);
is($rc, 1, 'a .c including a module that includes its header is a cycle');
like($out, qr/include cycle among event,workload/, 'the cycle names both modules');
like($out, qr{src/event\.c:3: includes workload\.h}, 'and the include that makes it, with file:line');

$dir = tree(
    'include/kguard/a.h' => ['kguard/b.h'],
    'include/kguard/b.h' => ['c.h'],
    'src/c.h'            => [],
    'src/c.c'            => ['c.h', 'kguard/a.h'],
);
($rc, $out) = graph($dir);
is($rc, 1, 'a cycle through three modules');
like($out, qr/include cycle among a,b,c/, 'all three are named');

$dir = tree(
    'include/kguard/rules.h'   => ['kguard/finding.h'],
    'include/kguard/finding.h' => [],
    'src/rules_int.h'          => ['kguard/rules.h'],
    'src/rules_load.c'         => ['rules_int.h'],
    'src/finding.c'            => ['kguard/finding.h', 'rules_int.h'],
);
($rc, $out) = graph($dir);
is($rc, 1, "a module's private header and X_*.c files count as the module");
like($out, qr/include cycle among finding,rules/, 'rules_int.h is part of rules');
($rc, $out) = graph($dir, '--allow', 'rules,finding');
is($rc, 0, '--allow accepts a named cycle');
like($out, qr/warning: known include cycle among finding,rules/, 'but still warns about it');

$dir = tree(
    'include/kguard/a.h' => [],
    'include/kguard/b.h' => ['kguard/a.h'],
    'src/a.c'            => ['kguard/a.h', '<stdio.h>'],
    'src/b.c'            => ['kguard/b.h', 'kguard/a.h'],
);
($rc, $out) = graph($dir, '--allow', 'a,b');
is($rc, 0, 'a tree without cycles passes');
like($out, qr/the allowed cycle a,b is gone/, 'an --allow that no longer applies is pointed out');

done_testing();
