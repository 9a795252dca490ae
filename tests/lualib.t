#!/usr/bin/env perl
# Runs the Lua unit tests (tests/lua/*_test.lua) for lualib/ and rules.d/
# inside the real rule sandbox, through the lua-runner built beside the unit
# tests (tests/lua/runner.c; KGUARD_LUA_RUNNER, set by make test), one subtest
# per file, from the project root.
use strict;
use warnings;
use FindBin;
use File::Spec;
use TAP::Parser;

$| = 1;
my $root = File::Spec->catdir($FindBin::Bin, File::Spec->updir);
chdir $root or die "lualib.t: cannot chdir to $root: $!\n";

my $runner = $ENV{KGUARD_LUA_RUNNER} // File::Spec->catfile($root, qw(build plain tests lua-runner));
if (!-x $runner) {
    # make test builds it: missing there is a failure, not a skip
    print $ENV{KGUARD_LUA_RUNNER} ? "1..1\nnot ok 1 - lua-runner built at $runner\n"
                                  : "1..0 # SKIP no lua-runner at $runner (make unit)\n";
    exit 0;
}

my @files = sort glob 'tests/lua/*_test.lua';
if (!@files) {
    print "1..0 # SKIP no tests/lua/*_test.lua\n";
    exit 0;
}

print '1..', scalar(@files), "\n";
my $n = 0;
for my $file (@files) {
    $n++;
    print "# Subtest: $file\n";
    my $parser = TAP::Parser->new({ exec => [ $runner, 'lualib', $file ] });
    while (my $result = $parser->next) {
        print '    ', $result->as_string, "\n";
    }
    my @why;
    push @why, scalar($parser->failed) . ' failed' if $parser->failed;
    push @why, 'exit status ' . ($parser->exit // '?') if $parser->exit;
    push @why, 'wait status ' . $parser->wait if $parser->wait && !$parser->exit;
    push @why, 'no tests run' if !$parser->tests_run;
    push @why, $parser->parse_errors if $parser->parse_errors;
    if (@why) {
        print "not ok $n - $file\n";
        print "# $_\n" for @why;
    } else {
        print "ok $n - $file\n";
    }
}
exit 0;
