#!/usr/bin/env perl
# Input handling: bad records never stop the scan nor hide the valid events around them;
# EventList / JSON array / stdin / CRLF / no final newline / empty input.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use JSON::PP ();
use Test::More;
use KGTest qw(:all);

my $ROOT = root();
my $BIN  = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;

my $CA_TOR = 'CredentialAccess:Kubernetes/TorIPCaller';
my $DI_MAL = 'Discovery:Kubernetes/MaliciousIPCaller';

# occurrences per type (repeats of one finding are aggregated under one id, see KGTest::occurrences)
sub types { occurrences($_[0]) }
sub clean_exit {
    my ($r, $label) = @_;
    my @c = crash_problems($r);
    ok(!@c, "$label: no crash, summary present") or diag(join('; ', @c) . "\n" . describe_run($r));
    is($r->{exit}, 0, "$label: exit 0") or diag(describe_run($r));
}
sub finding_for {
    my ($r, $auditID) = @_;
    return grep { ($_->{data}{kguard}{auditID} // '') eq $auditID } grep { $_->{data} } @{ $r->{findings} };
}

# ---------------------------------------------------------------- the mixed file
subtest 'bad records in a JSONL file are reported with FILE:LINE and skipped; valid events around them are judged' => sub {
    my $first = audit_event(ip => $IP{TOR});                                   # CA TorIPCaller
    my $last  = audit_event(ip => $IP{MAL}, resource => 'pods', user => 'EKS'); # DI MaliciousIPCaller
    my $ok    = event_line($first);
    my $base  = sub { my %set = @_; event_line(audit_event(ip => $IP{TOR}, set => \%set)) };  # a positive event, modified
    my $huge  = 20_000_000;
    my $big_valid = event_line(audit_event(ip => $IP{OFFICE}, verb => 'get', resource => 'services', name => 'kubernetes'))
        =~ s/\}\z/,"requestObject":{"padding":"@{['A' x $huge]}"}}/r;
    my $big_bad = '{"kind":"Event","apiVersion":"audit.k8s.io/v1","verb":"list","user":{"username":"x"},"requestURI":"' . ('B' x $huge);
    # each bad variant is a fresh positive event (own auditID), so one wrongly accepted shows as a finding
    my $fresh = sub { event_line(audit_event(ip => $IP{TOR})) };
    my $deep_in_event = $fresh->() =~ s/\}\z/,"requestObject":@{['[' x 10000]}@{[']' x 10000]}}/r;
    my $bad_utf8 = $fresh->() =~ s{kubectl/v1\.29\.2}{kubectl/v1.29.2 \xff\xfe\xc3(}r;
    my $overlong_utf8 = $fresh->() =~ s{kubectl/v1\.29\.2}{kubectl\xc0\xafv1.29.2}r;
    my $nul = $fresh->() =~ s{kubectl/v1\.29\.2}{kubectl\x00v1.29.2}r;
    my $ctl = $fresh->() =~ s{kubectl/v1\.29\.2}{kubectl\tv1.29.2\x01}r;

    # [line content, kind]: kind 'good', 'bad' (must be reported + counted malformed),
    # 'blank' (neither), 'big' (valid JSON over any sane size limit: either judged or malformed)
    my @lines = (
        [ $ok, 'good' ],                                                                # 1
        [ '{"kind":"Event","apiVersion":"audit.k8s.io/v1","verb":"get",,"user":{}}', 'bad' ],  # 2 bad JSON
        [ substr($ok, 0, 150), 'bad' ],                                                 # 3 truncated
        [ $big_valid, 'big' ],                                                          # 4 20 MB valid JSON
        [ $big_bad, 'bad' ],                                                            # 5 20 MB unterminated
        [ ('[' x 10000) . (']' x 10000), 'bad' ],                                       # 6 deep nesting
        [ $deep_in_event, 'bad' ],                                                      # 7 deep nesting inside an event
        [ $bad_utf8, 'bad' ],                                                           # 8 invalid UTF-8 in a string
        [ $overlong_utf8, 'bad' ],                                                      # 9 overlong UTF-8 encoding of '/'
        [ $base->(verb => 5), 'bad' ],                                                  # 10 "verb": 5
        [ $base->(sourceIPs => '1.2.3.4'), 'bad' ],                                     # 11 "sourceIPs": "1.2.3.4"
        [ $base->(user => 'bob'), 'bad' ],                                              # 12 "user": "bob"
        [ '{"kind": 0}', 'bad' ],                                                       # 13 {"kind": 0}
        [ '', 'blank' ],                                                                # 14
        [ "   \t ", 'blank' ],                                                          # 15
        [ '42', 'bad' ],                                                                # 16 number
        [ '[1, 2, 3]', 'bad-array' ],                                                   # 17 array of non-events
        [ '"hello"', 'bad' ],                                                           # 18 string
        [ 'null', 'bad' ],                                                              # 19
        [ event_line(audit_event(ip => $IP{TOR}, drop => ['verb'])), 'bad' ],           # 20 no verb
        [ event_line(audit_event(ip => $IP{TOR}, drop => ['user'])), 'bad' ],           # 21 no user
        [ $nul, 'bad' ],                                                                # 22 raw NUL inside a string
        [ $base->(objectRef => 'secrets'), 'bad' ],                                     # 23 objectRef not an object
        [ $ctl, 'bad' ],                                                                # 24 raw TAB and U+0001 inside a string
        [ event_line($last), 'good' ],                                                  # 25
    );
    my $file = write_file(join('', map { "$_->[0]\n" } @lines), 'mixed.jsonl');
    my $r = run_kguard(args => [ scan_args(), $file ], timeout => 180);
    clean_exit($r, 'mixed');
    ok(length($r->{stderr}) < 200_000, 'stderr does not echo the huge lines') or diag('stderr length ' . length $r->{stderr});

    my ($f1) = finding_for($r, $first->{auditID});
    my ($f2) = finding_for($r, $last->{auditID});
    ok($f1 && $f1->{data}{type} eq $CA_TOR, 'event on line 1 gives its finding');
    ok($f2 && $f2->{data}{type} eq $DI_MAL, 'event on line 25 gives its finding');
    is($f1 && $f1->{data}{kguard}{source}, "$file:1", 'source of the first finding is FILE:1');
    is($f2 && $f2->{data}{kguard}{source}, "$file:25", 'source of the last finding is FILE:25');
    is_deeply(types($r), { $CA_TOR => 1, $DI_MAL => 1 }, 'exactly those two findings') or diag(describe_run($r));

    my $err = $r->{stderr};
    my ($bad, $judged) = (0, 2);
    for my $i (0 .. $#lines) {
        my ($n, $kind) = ($i + 1, $lines[$i][1]);
        my $reported = () = $err =~ /^kguard: \Q$file\E:$n: /mg;
        if ($kind eq 'bad') {
            is($reported, 1, "line $n is reported once as 'kguard: FILE:$n: ...'");
            $bad++;
        } elsif ($kind eq 'bad-array') {
            # a JSON array on a line may be read as one bad record or as a batch of 3 bad items
            ok($reported == 1 || $reported == 3, "line $n is reported as 'kguard: FILE:$n: ...' (once, or once per item)")
                or diag("reported $reported times");
            $bad += $reported || 1;
        } elsif ($kind eq 'big') {
            # over the line size limit -> malformed; under it -> an ordinary (non-catalog) event
            note("line $n (20 MB of valid JSON) " . ($reported ? 'reported as malformed' : 'accepted'));
            $reported ? $bad++ : $judged++;
        } else {
            ok(!$reported, "line $n ($kind) is not reported");
        }
    }
    my $s = $r->{summary} // {};
    is($s->{malformed}, $bad, "summary malformed=$bad");
    is($s->{judged}, $judged, "summary judged=$judged");
    is($s->{findings}, 2, 'summary findings=2');
    is($s->{rule_errors}, 0, 'summary rule_errors=0');
};

subtest 'the line size limit documented by --help is enforced' => sub {
    my $help = run_kguard(args => [ 'scan', '--help' ]);
    my ($default) = ($help->{stdout} . $help->{stderr}) =~ /--max-line-bytes\b.*?default:?\s*(\d+)/s;
    plan skip_all => 'kguard scan --help documents no --max-line-bytes default' unless $default;
    my $pad = sub {   # a positive event (Tor caller) padded to about $n bytes
        my ($n) = @_;
        my $e = audit_event(ip => $IP{TOR}, user => 'SA');
        my $l = event_line($e);
        return ($e, $l =~ s/\}\z/,"requestObject":{"padding":"@{['P' x ($n - length($l) - 32)]}"}}/r);
    };
    for my $c ([ 4096, 4000, 'judged' ], [ 4096, 5000, 'malformed' ], [ 4096, 70000, 'malformed' ],
               [ undef, $default + 1_000_000, 'malformed' ], [ undef, 1_000_000, 'judged' ]) {
        my ($limit, $size, $want) = @$c;
        my ($e, $line) = $pad->($size);
        my $f = write_file("$line\n", "limit-$size.jsonl");
        my $r = run_kguard(args => [ scan_args(), (defined $limit ? ('--max-line-bytes', $limit) : ()), $f ], timeout => 120);
        my $label = sprintf('%d-byte line, limit %d%s', length $line, $limit // $default, defined $limit ? '' : ' (default)');
        clean_exit($r, $label);
        my $s = $r->{summary} // {};
        if ($want eq 'malformed') {
            is($s->{malformed}, 1, "$label: malformed=1");
            like($r->{stderr}, qr/^kguard: \Q$f\E:1: /m, "$label: reported as FILE:1");
            is(scalar @{ $r->{findings} }, 0, "$label: no finding");
        } else {
            is($s->{malformed}, 0, "$label: malformed=0");
            is(scalar @{ $r->{findings} }, 1, "$label: its finding");
        }
    }
};

subtest 'NUL characters never silently truncate a value' => sub {
    # "\u0000" is valid JSON, but a C string cannot hold it: the record must be rejected as malformed,
    # or judged on the full value -- never on the part before the NUL.
    my $anon = audit_event(ip => $IP{OFFICE}, user => { username => 'system:anonymous\u0000-not-really', groups => ['system:authenticated'] });
    my $anon_line = event_line($anon) =~ s/\\\\u0000/\\u0000/r;       # JSON::PP escapes the backslash: undo
    my $ip = audit_event(ips => [ "$IP{TOR}_NUL_x" ]);
    my $ip_line = event_line($ip) =~ s/_NUL_/\\u0000/r;
    my $f = write_file("$anon_line\n$ip_line\n", 'nul.jsonl');
    like(read_file($f), qr/anonymous\\u0000-not/, 'input holds the escaped NUL');
    my $r = run_kguard(args => [ scan_args(), $f ]);
    clean_exit($r, 'NUL');
    my ($fa) = finding_for($r, $anon->{auditID});
    my $anon_reported = $r->{stderr} =~ /^kguard: \Q$f\E:1: /m;
    ok($anon_reported || !$fa, '"system:anonymous\u0000-not-really" is not the anonymous user')
        or diag(substr($fa->{raw}, 0, 400));
    my ($t) = finding_for($r, $ip->{auditID});
    my $ip_reported = $r->{stderr} =~ /^kguard: \Q$f\E:2: /m;
    ok($ip_reported || !$t || json_encode($t->{data}{service}{action}{kubernetesApiCallAction}{sourceIPs}) eq json_encode(["$IP{TOR}\x00x"]),
       'a sourceIPs entry with a NUL is rejected or reported in full, not cut at the NUL')
        or diag('sourceIPs in finding: ' . json_encode($t->{data}{service}{action}{kubernetesApiCallAction}{sourceIPs}));
};

# ---------------------------------------------------------------- other shapes
my @three = (audit_event(ip => $IP{TOR}),
             audit_event(ip => $IP{MAL}, resource => 'pods', user => 'EKS'),
             audit_event(ip => $IP{OFFICE}, verb => 'get', resource => 'services', name => 'kubernetes'));
my $PRETTY = JSON::PP->new->pretty->canonical;

sub check_three {
    my ($r, $label, %o) = @_;
    clean_exit($r, $label);
    is_deeply(types($r), { $CA_TOR => 1, $DI_MAL => 1 }, "$label: both positives found") or diag(describe_run($r));
    my $s = $r->{summary} // {};
    is($s->{events}, $o{events} // 3, "$label: summary events=" . ($o{events} // 3));
    is($s->{malformed}, $o{malformed} // 0, "$label: summary malformed=" . ($o{malformed} // 0));
    is($s->{judged}, 3, "$label: summary judged=3");
    for my $x (grep { $_->{data} } @{ $r->{findings} }) {
        like($x->{data}{kguard}{source} // '', $o{source} // qr/:\d+\z/, "$label: kguard.source FILE:LINE");
    }
}

subtest 'pretty-printed EventList file' => sub {
    my $f = write_file($PRETTY->encode({ kind => 'EventList', apiVersion => 'audit.k8s.io/v1', metadata => {}, items => \@three }),
                       'eventlist-pretty.json');
    check_three(run_kguard(args => [ scan_args(), $f ]), 'EventList', source => qr/\A\Q$f\E:\d+\z/);
};

subtest 'EventList with one wrong-typed item: the item is malformed, the others are judged' => sub {
    my $bad = { %{ $three[0] }, auditID => uuid(), verb => 5 };
    my $f = write_file(JSON::PP->new->canonical->encode({ kind => 'EventList', apiVersion => 'audit.k8s.io/v1', metadata => {},
                                                          items => [ $three[0], $bad, @three[1, 2] ] }) . "\n",
                       'eventlist-bad-item.json');
    # events counts the valid records (judged + skipped); the bad item only counts as malformed
    check_three(run_kguard(args => [ scan_args(), $f ]), 'EventList+bad item', events => 3, malformed => 1);
};

subtest 'JSON array of events (pretty-printed and on one line)' => sub {
    my $f = write_file($PRETTY->encode(\@three), 'array-pretty.json');
    check_three(run_kguard(args => [ scan_args(), $f ]), 'array pretty', source => qr/\A\Q$f\E:\d+\z/);
    my $g = write_file(JSON::PP->new->canonical->encode(\@three) . "\n", 'array-line.json');
    check_three(run_kguard(args => [ scan_args(), $g ]), 'array one line', source => qr/\A\Q$g\E:1\z/);
};

subtest 'stdin: no FILE, and -' => sub {
    my $in = join('', map { event_line($_) . "\n" } @three);
    check_three(run_kguard(args => [ scan_args() ], stdin => $in), 'stdin (no FILE)');
    check_three(run_kguard(args => [ scan_args(), '-' ], stdin => $in), 'stdin (-)');
    my $r = run_kguard(args => [ scan_args(), '-' ], stdin => $in);
    my ($x) = finding_for($r, $three[1]{auditID});
    like($x && $x->{data}{kguard}{source} // '', qr/:2\z/, 'stdin: source line of the 2nd event is 2');
    my $pretty = $PRETTY->encode({ kind => 'EventList', apiVersion => 'audit.k8s.io/v1', metadata => {}, items => \@three });
    check_three(run_kguard(args => [ scan_args() ], stdin => $pretty), 'stdin EventList');
};

subtest 'CRLF line endings' => sub {
    my $f = write_file(join('', map { event_line($_) . "\r\n" } @three), 'crlf.jsonl');
    check_three(run_kguard(args => [ scan_args(), $f ]), 'CRLF', source => qr/\A\Q$f\E:[12]\z/);
};

subtest 'last line without a newline' => sub {
    my $f = write_file(join("\n", map { event_line($_) } @three[2, 0, 1]), 'no-final-newline.jsonl');
    my $r = run_kguard(args => [ scan_args(), $f ]);
    check_three($r, 'no final newline');
    my ($x) = finding_for($r, $three[1]{auditID});
    is($x && $x->{data}{kguard}{source}, "$f:3", 'the unterminated last line (3) is judged');
};

subtest 'empty input' => sub {
    for my $c ([ '', 'empty' ], [ "\n\n\n", 'blank-lines' ]) {
        my $f = write_file($c->[0], "$c->[1].jsonl");
        my $r = run_kguard(args => [ scan_args(), $f ]);
        clean_exit($r, $c->[1]);
        is(scalar @{ $r->{findings} }, 0, "$c->[1]: no findings");
        my $s = $r->{summary} // {};
        is($s->{events}, 0, "$c->[1]: events=0");
        is($s->{malformed}, 0, "$c->[1]: malformed=0");
    }
    my $r = run_kguard(args => [ scan_args() ], stdin => '');
    clean_exit($r, 'empty stdin');
    is(($r->{summary} // {})->{events}, 0, 'empty stdin: events=0');
};

subtest 'several files: each finding names its own file and line' => sub {
    my $fa = write_file(event_line($three[2]) . "\n" . event_line($three[0]) . "\n", 'multi-a.jsonl');
    my $fb = write_file(event_line($three[1]) . "\n", 'multi-b.jsonl');
    my $r = run_kguard(args => [ scan_args(), $fa, $fb ]);
    clean_exit($r, 'two files');
    my ($x) = finding_for($r, $three[0]{auditID});
    my ($y) = finding_for($r, $three[1]{auditID});
    is($x && $x->{data}{kguard}{source}, "$fa:2", 'first file, line 2');
    is($y && $y->{data}{kguard}{source}, "$fb:1", 'second file, line 1');
    is(($r->{summary} // {})->{events}, 3, 'events=3 over both files');
};

subtest 'volume: 20000 events' => sub {
    my @pos;
    my $content = '';
    for my $i (1 .. 20000) {
        my $e = $i % 100 == 0 ? audit_event(ip => $IP{TOR}, auditID => sprintf('00000000-0000-4000-8000-%012d', $i))
                              : audit_event(ip => $IP{OFFICE}, auditID => sprintf('00000000-0000-4000-8000-%012d', $i),
                                            resource => ($i % 2 ? 'pods' : 'configmaps'));
        $content .= event_line($e) . "\n";
    }
    my $f = write_file($content, 'volume.jsonl');
    my $r = run_kguard(args => [ scan_args(), $f ], timeout => 300);
    clean_exit($r, 'volume');
    note(sprintf('20000 events in %.2fs', $r->{elapsed}));
    is_deeply(types($r), { $CA_TOR => 200 }, '200 Tor findings');
    is(($r->{summary} // {})->{judged}, 20000, 'judged=20000');
};

done_testing();
