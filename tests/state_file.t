#!/usr/bin/env perl
# The --state file's numbers and temporary files (issue 10, item 10).
#  - Every number read back is range-checked before a C cast: a table's max_entries and ttl_ms, an
#    entry's value (finite) and time stamp, a finding's count and times (0 to 2^53). An entry with a
#    number out of range is dropped (with a note naming the file and the count); the rest of the state
#    loads, the file is not moved aside as corrupt. Under UBSan (make test SANITIZE=1) no "runtime
#    error" may appear.
#  - A value JSON cannot hold (a rule that stores 0/0 or 1/0: saved as null) no longer makes the next
#    start discard the whole state.
#  - A temporary file left by a save that was killed before its rename (STATE.tmp.<pid>) is removed at
#    the next start when its process is gone; one of a live process is left alone.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use Test::More;
use KGTest qw(:all);
use POSIX ();
use KGRun qw(%LIVE slurp clean_exit);

my $BIN = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;
my $ROOT = root();
my $dir = tempdir('kgs-XXXXXX', TMPDIR => 1, CLEANUP => 1);

sub put { my ($path, $text) = @_; open my $fh, '>', $path or die "$path: $!"; print {$fh} $text; close $fh }
sub scan_state {
    my ($state, %o) = @_;
    my @ev = @{ $o{events} // [] };
    return run_kguard(args => [scan_args(rules => $o{rules}), '--state', $state, '--publish-interval', '0'],
                      stdin => join('', map { event_line($_) . "\n" } @ev), timeout => 60);
}
sub no_ub {
    my ($r, $what) = @_;
    unlike($r->{stderr}, qr/runtime error:|AddressSanitizer|LeakSanitizer/, "$what: no undefined behaviour reported");
}
sub table_of { my ($doc, $name) = @_; my ($t) = grep { $_->{name} eq $name } @{ $doc->{tables} }; return $t }

my $ID = sub { my $c = shift; return substr(('0123456789abcdef' x 3) . $c, -32) };
my $NOW = 1796220000000;

# ---- numbers out of range ----------------------------------------------------------------------
{
    my $state = "$dir/ranges.json";
    my $good_f = { id => $ID->('a1'), count => 3, first_seen_ms => 1710238530123, last_seen_ms => 1710238590123,
                   created_ms => $NOW, updated_ms => $NOW, published_ms => $NOW };
    # written as text: JSON numbers Perl cannot print (1e999 parses to inf in C)
    my $text = join '',
        '{"format":"kguard-state","version":1,"saved_at":1796220000,"tables":[',
        '{"name":"baseline","max_entries":1000,"ttl_ms":0,"entries":[',
            '["good-1",1,', $NOW, '],["good-2",2.5,', $NOW, '],',
            '["inf-value",1e999,', $NOW, '],["null-value",null,', $NOW, '],',
            '["huge-stamp",1,1e300],["neg-huge-stamp",1,-1e300]]},',
        '{"name":"huge-cap","max_entries":1e300,"ttl_ms":0,"entries":[["k",1,', $NOW, ']]},',
        '{"name":"neg-ttl","max_entries":10,"ttl_ms":-5,"entries":[["k",1,', $NOW, ']]},',
        '{"name":"nan-ttl","max_entries":10,"ttl_ms":1e999,"entries":[]}',
        '],"findings":[', json_encode($good_f), ',',
        '{"id":"', $ID->('b2'), '","count":1e300,"first_seen_ms":1,"last_seen_ms":1,"created_ms":1,"updated_ms":1,"published_ms":1},',
        '{"id":"', $ID->('c3'), '","count":1,"first_seen_ms":-1,"last_seen_ms":1,"created_ms":1,"updated_ms":1,"published_ms":1},',
        '{"id":"', $ID->('d4'), '","count":1,"first_seen_ms":1,"last_seen_ms":1,"created_ms":1,"updated_ms":1,"published_ms":9.3e18}',
        ']}', "\n";
    put($state, $text);
    my $r = scan_state($state);
    clean_exit($r, 'out-of-range numbers');
    no_ub($r, 'out-of-range numbers');
    like($r->{stderr}, qr/^kguard: note: state file \Q$state\E: 10 entries with a number out of range dropped/m,
         'a note names the file and counts the dropped entries (4 table entries, 3 tables, 3 findings)');
    unlike($r->{stderr}, qr/unusable|corrupt/, 'the file is not treated as corrupt');
    ok(!glob("$state.corrupt-*"), 'nothing was moved aside');
    my $doc = eval { json_decode(slurp($state)) } // {};
    my $t = table_of($doc, 'baseline');
    is_deeply([sort map { $_->[0] } @{ $t->{entries} // [] }], ['good-1', 'good-2'], 'the good table entries were kept');
    ok(!table_of($doc, $_), "table $_ (a number out of range) was dropped") for qw(huge-cap neg-ttl nan-ttl);
    is_deeply([map { $_->{id} } @{ $doc->{findings} // [] }], [$good_f->{id}], 'the good finding entry was kept');
    is($doc->{findings}[0]{count}, 3, 'with its count');

    $r = scan_state($state);
    clean_exit($r, 'the saved state loads again');
    unlike($r->{stderr}, qr/note: state file/, 'without a note: nothing left to drop');
}

# ---- a value JSON cannot hold, stored by a rule -----------------------------------------------
{
    my $rules = tempdir('kgsr-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    put("$rules/nan_store.lua", <<'LUA');
local t = kguard.table("odd_numbers")
return {
  type = "Discovery:Kubernetes/StateOddNumbers",
  severity = "Low",
  title = "Stores numbers JSON cannot hold",
  description = "Keeps 0/0 and 1/0 in a state table, and a plain count beside them.",
  remediation = "None: a test rule.",
  match = {api = {"list secrets"}},
  predicate = function(ev)
    t:set("nan", 0/0)
    t:set("inf", 1/0)
    t:incr("seen")
    return t:get("seen") >= 2
  end,
}
LUA
    my $state = "$dir/odd.json";
    my @ev = map { audit_event(verb => 'list', resource => 'secrets', ip => '10.0.3.17') } 1 .. 1;
    my $r = scan_state($state, rules => $rules, events => \@ev);
    clean_exit($r, 'a rule stores NaN and inf');
    is(scalar(grep { $_->{data} } @{ $r->{findings} }), 0, 'first run: seen=1, no finding');
    $r = scan_state($state, rules => $rules, events => \@ev);
    clean_exit($r, 'the next start with NaN and inf saved');
    no_ub($r, 'NaN and inf saved');
    unlike($r->{stderr}, qr/unusable|corrupt/, 'the state file is not discarded as corrupt');
    like($r->{stderr}, qr/note: state file .*: 2 entries with a number out of range dropped/, 'the two odd values are dropped, with a note');
    is(scalar(grep { $_->{data} && $_->{data}{type} eq 'Discovery:Kubernetes/StateOddNumbers' } @{ $r->{findings} }), 1,
       'the count survived the restart: seen=2 fires');
}

# ---- temporary files of an interrupted save ---------------------------------------------------
{
    my $state = "$dir/tmp.json";
    scan_state($state);                                   # a real state file
    my $dead = fork // die;
    if (!$dead) { POSIX::_exit(0) }
    waitpid($dead, 0);                                    # a pid that is gone
    my ($stale, $live, $other) = ("$state.tmp.$dead", "$state.tmp.$$", "$dir/other.json.tmp.$dead");
    put($_, '{"format":"kguard-state","version":1,"tab') for $stale, $live, $other;   # cut short
    my $r = scan_state($state);
    clean_exit($r, 'a start beside temporary files');
    ok(!-e $stale, 'the temporary file of a killed save is removed');
    ok(-e $live, 'the temporary file of a live process is left alone');
    ok(-e $other, 'another state file\'s temporary file is left alone');
    like($r->{stderr}, qr/note: state file \Q$state\E: 0 entries .*1 temporary file of an interrupted save removed/,
         'a note says so');

}

done_testing();
