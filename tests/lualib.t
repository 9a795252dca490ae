#!/usr/bin/env perl
# Runs the Lua unit tests (tests/lua/*.lua) for lualib/ and rules.d/ with the
# plain lua5.4 interpreter, one subtest per file, from the project root, with
# package.path limited to lualib/ (LUA_PATH).  Skips when lua5.4 is missing.
use strict;
use warnings;
use FindBin;
use File::Spec;
use TAP::Parser;

$| = 1;
my $root = File::Spec->catdir($FindBin::Bin, File::Spec->updir);
chdir $root or die "lualib.t: cannot chdir to $root: $!\n";

my ($lua) = grep { -x $_ && !-d _ }
    map { File::Spec->catfile($_, 'lua5.4') } File::Spec->path;
if (!$lua) {
    print "1..0 # SKIP lua5.4 not installed\n";
    exit 0;
}

# LUA_PATH_5_4 wins over LUA_PATH when set, so set both; no ";;", so the
# default search path is not appended.
$ENV{LUA_PATH} = $ENV{LUA_PATH_5_4} = 'lualib/?.lua;lualib/?/init.lua';
delete @ENV{qw(LUA_INIT LUA_INIT_5_4)};

my @files = sort glob 'tests/lua/*.lua';
if (!@files) {
    print "1..0 # SKIP no tests/lua/*.lua\n";
    exit 0;
}

print '1..', scalar(@files), "\n";
my $n = 0;
for my $file (@files) {
    $n++;
    print "# Subtest: $file\n";
    my $parser = TAP::Parser->new({ exec => [ $lua, $file ] });
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
