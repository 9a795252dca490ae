#!/usr/bin/env perl
# Every real public corpus file (../shared/corpus/audit, relative to KGUARD_ROOT) scans cleanly,
# with and without the real corpus Tor/threat lists loaded.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Basename qw(basename);
use File::Find;
use File::Spec;
use Test::More;
use KGTest qw(:all);

my $ROOT = root();
my $BIN  = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;
my $CORPUS = File::Spec->catdir($ROOT, '..', 'shared', 'corpus');
my $AUDIT  = File::Spec->catdir($CORPUS, 'audit');
plan skip_all => "no corpus at $AUDIT" unless -d $AUDIT;

my @files;
find({ wanted => sub { push @files, $File::Find::name if -f }, no_chdir => 1 }, $AUDIT);
@files = sort @files;
ok(@files >= 4, 'corpus files found: ' . scalar @files);

my $IPL = File::Spec->catdir($CORPUS, 'iplists');
my @LISTS = (
    '--tor-exits',     File::Spec->catfile($IPL, 'tor_exit_addresses_torproject_2024-03-12_blocks1241-1841.txt'),
    '--malicious-ips', File::Spec->catfile($IPL, 'firehol_level1_first3000lines.netset'),
    '--threat-list',   'ipsum=' . File::Spec->catfile($IPL, 'stamparm_ipsum_level5.txt'),
);
my $have_lists = !grep { !-f } @LISTS[1, 3], substr($LISTS[5], 6);
my %known = map { $_ => 1 } @ALL_TYPES;
my %api_tactic = map { $_ => 1 } @TYPES;

my %result;   # "$name lists|plain" -> run
for my $file (@files) {
    my $rel = File::Spec->abs2rel($file, $AUDIT);
    for my $mode ('plain', ($have_lists ? 'lists' : ())) {
        subtest "$rel ($mode)" => sub {
            my @args = ('scan', '--rules', 'rules.d', '--cluster', 'corpus', ($mode eq 'lists' ? @LISTS : ()), $file);
            my $r = run_kguard(args => \@args, timeout => 120);
            $result{"$rel $mode"} = $r;
            my @c = crash_problems($r);
            ok(!@c, 'no crash, no sanitizer report, summary present') or diag(join('; ', @c) . "\n" . describe_run($r));
            is($r->{exit}, 0, 'exit 0') or diag(describe_run($r));
            my @bad = grep { !$_->{data} } @{ $r->{findings} };
            ok(!@bad, 'findings are JSON objects') or diag(join "\n", map { substr($_->{raw}, 0, 300) } @bad[0 .. ($#bad > 4 ? 4 : $#bad)]);
            my @unknown = grep { !$known{ $_->{data}{type} // '' } } grep { $_->{data} } @{ $r->{findings} };
            ok(!@unknown, 'every finding has a known type (20 API-tactic + 7 workload/policy)') or diag(join "\n", map { $_->{data}{type} // 'undef' } @unknown);
            my @noshape = grep {
                my $d = $_->{data};
                !($d->{schemaVersion} && $d->{id} && $d->{id} =~ /\A[0-9a-f]{32}\z/ && is_iso_ms($d->{createdAt})
                  && is_iso_ms($d->{service}{eventFirstSeen}) && ($d->{kguard}{source} // '') =~ /\A\Q$file\E:\d+\z/)
            } grep { $_->{data} } @{ $r->{findings} };
            ok(!@noshape, 'findings have id, times and kguard.source FILE:LINE') or diag(substr($noshape[0]{raw}, 0, 600));
            my $s = $r->{summary} // {};
            is($s->{findings}, scalar(final_findings($r)), 'summary findings= is the number of distinct finding ids');
            is($s->{rule_errors}, 0, 'no rule errors');
            note("summary: " . join(' ', map { "$_=" . ($s->{$_} // '?') } qw(events judged skipped malformed findings rule_errors)));
        };
    }
}

# ---------------------------------------------------------------- what can be verified exactly
sub summary_is {
    my ($key, $want) = @_;
    my $r = $result{$key} or return;
    my $s = $r->{summary} // {};
    for my $k (sort keys %$want) {
        is($s->{$k}, $want->{$k}, "$key: $k=$want->{$k}");
    }
}

subtest 'audit2rbac demo (v1beta1): 757 records, 320 RequestReceived skipped' => sub {
    plan skip_all => 'file absent' unless $result{'audit2rbac_demo_v1beta1.jsonl plain'};
    my %want = (events => 757, judged => 437, skipped => 320, malformed => 0, findings => 0);
    summary_is('audit2rbac_demo_v1beta1.jsonl plain', \%want);
    # ::1 is on none of the lists (firehol has 127.0.0.0/8, an IPv4 range), nobody is anonymous
    summary_is('audit2rbac_demo_v1beta1.jsonl lists', \%want) if $have_lists;
};

subtest 'malformed/falco_fal_01_003_kind_is_int.json: {"kind": 0}, no final newline' => sub {
    my $r = $result{'malformed/falco_fal_01_003_kind_is_int.json plain'};
    plan skip_all => 'file absent' unless $r;
    summary_is('malformed/falco_fal_01_003_kind_is_int.json plain', { malformed => 1, judged => 0, findings => 0 });
    like($r->{stderr}, qr/falco_fal_01_003_kind_is_int\.json:1: /, 'reported as FILE:1');
};

subtest 'falco trace files' => sub {
    my $plain = $result{'falco_k8s_audit_trace_files.jsonl plain'};
    plan skip_all => 'file absent' unless $plain;
    # two auditIDs occur twice with stage ResponseComplete (lines 1/51 and 21/24: separate trace files
    # joined): the repeats are skipped as duplicate stages
    summary_is('falco_k8s_audit_trace_files.jsonl plain', { events => 51, judged => 49, skipped => 2, malformed => 0 });
    # no list loaded, and the only anonymous event creates a namespace (not in the catalog):
    # none of the 20 API-tactic types (the workload/policy rules may fire)
    my @api = grep { $api_tactic{ $_->{data}{type} // '' } } grep { $_->{data} } @{ $plain->{findings} };
    ok(!@api, 'no API-tactic finding without lists') or diag(join "\n", map { $_->{data}{type} } @api);
    my $r = $result{'falco_k8s_audit_trace_files.jsonl lists'} or return;
    # firehol_level1 lists 192.168.0.0/16 and 127.0.0.0/8, but special-purpose ranges are left out of
    # threat lists: the minikube client 192.168.99.1 and 127.0.0.1 are no longer "malicious"
    my %n;
    $n{ $_->{data}{type} }++ for grep { $_->{data} } @{ $r->{findings} };
    note(join ', ', map { "$_ x$n{$_}" } sort keys %n);
    ok(!grep({ $api_tactic{$_} } keys %n), 'no API-tactic finding: every caller is private or loopback')
        or diag(join ', ', sort keys %n);
    like($r->{stderr}, qr/^kguard: list malicious-ips \(\S+firehol_level1_first3000lines\.netset\): (\d+) entries; special-purpose ranges \(private, loopback, link-local, \.\.\.\) left out: ([1-9]\d*) entries dropped, ([1-9]\d*) clipped$/m,
         'the load reports the firehol entries dropped and clipped');
    unlike($r->{stderr}, qr/^kguard: list (tor-exits|ipsum) /m, 'lists without special-purpose entries are not reported');

    # --literal-lists restores matching as the list is written
    my $lit = run_kguard(args => ['scan', '--rules', 'rules.d', '--cluster', 'corpus', '--literal-lists', @LISTS,
                                  File::Spec->catfile($AUDIT, 'falco_k8s_audit_trace_files.jsonl')], timeout => 120);
    my %l;
    $l{ $_->{data}{type} }++ for grep { $_->{data} } @{ $lit->{findings} };
    ok($l{'Impact:Kubernetes/MaliciousIPCaller'}, 'literal: deletes from 192.168.99.1 give Impact MaliciousIPCaller')
        or diag(describe_run($lit));
    ok($l{'Persistence:Kubernetes/MaliciousIPCaller'}, 'literal: serviceaccount/clusterrolebinding creates give Persistence MaliciousIPCaller');
    unlike($lit->{stderr}, qr/special-purpose ranges/, 'literal: nothing is left out, nothing reported');
};

# Special-purpose callers (RFC 6890 registries) never hit a threat list by default.
sub special_ip {
    my ($ip) = @_;
    return 1 if $ip =~ /^(10|127)\./ || $ip =~ /^192\.168\./ || $ip =~ /^169\.254\./;
    return 1 if $ip =~ /^172\.(\d+)\./ && $1 >= 16 && $1 <= 31;
    return 1 if $ip =~ /^100\.(\d+)\./ && $1 >= 64 && $1 <= 127;
    return 1 if $ip =~ /^(::1?|f[cd][0-9a-f]*:.*|fe[89ab][0-9a-f]:.*)$/i;
    return 0;
}

subtest 'with the real FireHOL level1 list: no finding from a private or loopback caller' => sub {
    plan skip_all => 'lists absent' unless $have_lists;
    my $checked = 0;
    for my $key (sort grep { / lists$/ } keys %result) {
        # the threat-list types (workload rules report any caller)
        for my $f (grep { $_->{data} && ($_->{data}{type} // '') =~ /IPCaller/ } @{ $result{$key}{findings} }) {
            my ($found, $d) = dig($f->{data}, 'service.action.kubernetesApiCallAction.remoteIpDetails');
            next unless $found && ref $d eq 'HASH';
            my $ip = $d->{ipAddressV4} // $d->{ipAddressV6} // next;
            $checked++;
            ok(!special_ip($ip), "$key: $f->{data}{type} from $ip is not a special-purpose caller");
        }
    }
    ok(special_ip('192.168.99.1') && special_ip('127.0.0.1') && special_ip('::1') && !special_ip('45.95.147.236'),
       'the range check itself works');
    note("$checked threat-list findings checked");
};

done_testing();
