#!/usr/bin/env perl
# Detection fixtures: tests/fixtures/rules/*.json, one case per file:
#   name     what the case is
#   events   audit events (as kube-apiserver writes them)
#   expect   the EXACT set of finding types the scan must produce ([] = none)
#   reject   types that must not appear (the near misses; redundant with exactness, states intent)
#   count    optional {type: n}: exact number of occurrences of that type (repeats of one finding are
#            aggregated under one id: the sum of the final service.count of its findings)
#   assert   optional {"dotted.path": value}: checked on the first finding of each expected type
#            (path segments index objects by key and arrays by number; null = present and null)
#   assert_type  optional {type: {"dotted.path": value}}: same, for one type only
#   summary  optional {events, judged, skipped, malformed, findings, rule_errors}: exact summary counts
#   format   "jsonl" (default: one event per line) | "eventlist" (one webhook EventList body) |
#            "array" (a JSON array, one event per line)
#   lists    optional {"tor_exits"|"malicious_ips"|"partner_feed": path}: replace a standard list
# Scan: kguard scan --rules rules.d --tor-exits tests/lists/tor-exit-addresses.txt
#       --malicious-ips tests/lists/malicious.txt --threat-list partner-feed=tests/lists/partner-feed.txt
#       --cluster test-cluster FILE          (cwd = KGUARD_ROOT)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Basename qw(basename);
use Test::More;
use KGTest qw(:all);

my $ROOT = root();
my $BIN  = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;

my @files = sort glob("$ROOT/tests/fixtures/rules/*.json");
BAIL_OUT("no fixtures in $ROOT/tests/fixtures/rules") unless @files;

my %known = map { $_ => 1 } @ALL_TYPES;
my (%fired, %severity_seen);


for my $file (@files) {
    my $name = basename($file, '.json');
    my $text = read_file($file);
    my $fx   = eval { json_decode($text) };
    if (!$fx) { fail("$name.json: fixture is valid JSON"); diag($@); next }

    subtest "$name.json: $fx->{name}" => sub {
        my @expect = @{ $fx->{expect} // [] };
        my @reject = @{ $fx->{reject} // [] };
        for my $t (@expect, @reject, keys %{ $fx->{count} // {} }, keys %{ $fx->{assert_type} // {} }) {
            ok($known{$t}, "fixture names a known type: $t") or return;
        }
        my $input = fixture_input($fx, $text, $name, 'rules');
        my $r = run_kguard(args => ['scan', '--rules', 'rules.d', std_list_args(%{ $fx->{lists} // {} }),
                                    '--cluster', 'test-cluster', $input],
                           timeout => 60);
        my @crash = crash_problems($r);
        ok(!@crash, "$name: scan ran cleanly") or diag(join('; ', @crash) . "\n" . describe_run($r));
        is($r->{exit}, 0, "$name: exit 0") or diag(describe_run($r));

        my @bad = grep { !$_->{data} } @{ $r->{findings} };
        ok(!@bad, "$name: every stdout line is a JSON object")
            or diag(join("\n", map { "line $_->{line}: $_->{error}: " . substr($_->{raw}, 0, 300) } @bad));
        my @f = grep { $_->{data} } @{ $r->{findings} };

        # occurrences per type: findings are aggregated by id (update lines carry service.count)
        my %n = %{ occurrences($r) };
        my @got = sort keys %n;
        is_deeply(\@got, [sort @expect], "$name: finding types are exactly [" . join(', ', sort @expect) . ']')
            or diag("got: " . json_encode(\%n) . "\n" . describe_run($r));
        for my $t (@reject) {
            # (exactness above already covers this; the reject list states the near misses)
            ok(!$n{$t}, "$name: no $t");
        }
        for my $t (sort keys %{ $fx->{count} // {} }) {
            is($n{$t} // 0, $fx->{count}{$t}, "$name: exactly $fx->{count}{$t} x $t");
        }

        # every finding points back at one of the events
        my %ids = map { ($_->{auditID} // '') => 1 } @{ $fx->{events} };
        my @line_of = map { $_->{auditID} // '' } @{ $fx->{events} };
        for my $x (@f) {
            my $d = $x->{data};
            my $t = $d->{type} // '(no type)';
            ok(exists $known{$t}, "$name: $t is a known finding type");
            ok($ids{ $d->{kguard}{auditID} // '' }, "$name: $t kguard.auditID names an input event")
                or diag("kguard: " . json_encode($d->{kguard}));
            my $src = $d->{kguard}{source} // '';
            if (($fx->{format} // 'jsonl') eq 'jsonl') {
                my ($line) = $src =~ /:(\d+)\z/;
                ok(defined $line && index($src, basename($input)) >= 0
                   && $line >= 1 && $line <= @line_of && $line_of[$line - 1] eq ($d->{kguard}{auditID} // ''),
                   "$name: $t kguard.source is FILE:LINE of its event")
                    or diag("kguard.source=$src auditID=" . ($d->{kguard}{auditID} // 'undef'));
            } else {
                like($src, qr/\Q@{[basename($input)]}\E.*:\d+\z/, "$name: $t kguard.source names the input file and a line");
            }
            $fired{$t}++;
            push @{ $severity_seen{$t} }, [$d->{severity}, $name] if exists $SEVERITY{$t};
        }

        # assertions on the first finding of each expected type
        my %first;
        for my $x (@f) { $first{ $x->{data}{type} // '' } //= $x->{data} }
        my @checks;
        for my $t (@expect) {
            push @checks, [$t, $_, $fx->{assert}{$_}] for sort keys %{ $fx->{assert} // {} };
        }
        for my $t (sort keys %{ $fx->{assert_type} // {} }) {
            push @checks, [$t, $_, $fx->{assert_type}{$t}{$_}] for sort keys %{ $fx->{assert_type}{$t} };
        }
        for my $c (@checks) {
            my ($t, $path, $want) = @$c;
            my $d = $first{$t};
            if (!$d) { fail("$name: $t $path (no $t finding)"); next }
            my ($exists, $got) = dig($d, $path);
            ok($exists && deep_equal($got, $want), "$name: $t $path = " . json_encode($want))
                or diag('got: ' . ($exists ? json_encode($got) : '(absent)'));
        }

        my $s = $r->{summary};
        ok($s, "$name: summary line present") or return;
        my @final = final_findings($r);
        is($s->{findings}, scalar(@final), "$name: summary findings= is the number of distinct finding ids");
        is(scalar(@f), $s->{findings} + $s->{updates}, "$name: stdout lines = findings + updates")
            if defined $s->{updates} && defined $s->{findings};
        for my $k (sort keys %{ $fx->{summary} // {} }) {
            is($s->{$k}, $fx->{summary}{$k}, "$name: summary $k=$fx->{summary}{$k}");
        }
        is($s->{rule_errors}, 0, "$name: no rule errors") or diag(describe_run($r));
    };
}

subtest 'all 20 types fire somewhere, with the seed severities' => sub {
    for my $t (@TYPES) {
        ok($fired{$t}, "$t fired in at least one fixture");
        my @s = @{ $severity_seen{$t} // [] };
        next unless @s;
        my @wrong = grep { !defined $_->[0] || ref $_->[0] || $_->[0] != $SEVERITY{$t} } @s;
        ok(!@wrong, "$t severity $SEVERITY{$t}")
            or diag(join("\n", map { "  $_->[1]: " . json_encode($_->[0]) } @wrong[0 .. ($#wrong > 4 ? 4 : $#wrong)]));
    }
};

done_testing();
