#!/usr/bin/env perl
# The list cache (--cache-dir, cache_dir, kguard-cache beside --state): a cold start writes one cache
# file per list, a warm start takes the lists from them with the same findings and the same messages
# (bad lines, special-purpose ranges left out); an edited list, --literal-lists and a corrupt, truncated
# or foreign cache file all make kguard read the list file again (a corrupt one with a message); a
# cache directory that cannot be written is a warning, not a failure; a reload under `run` reads a
# changed list and refreshes its cache, and still refuses a list that shrank sharply.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Spec;
use Test::More;
use KGTest qw(:all);
use KGRun qw(:all);

my $BIN = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;

my $TOR_IP = '199.249.230.87';
my @MAL = ('45.95.147.236', '194.26.29.113', '141.98.10.0/24', '2a03:b0c0:3:d0::/64');
my $FEED_IP = '185.56.80.65';
my $tor = write_file("ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E\nPublished 2024-03-12 05:36:52\n"
    . "LastStatus 2024-03-12 07:00:00\nExitAddress $TOR_IP 2024-03-12 06:29:27\n", 'tor.txt');
# an ipsum-style feed with a bad line, and a FireHOL-style feed naming private ranges
my $mal = write_file(join('', map { "$_\t3\n" } @MAL) . "45.95.147\t2\n", 'mal.txt');
my $feed = write_file("# partner feed\n10.0.0.0/8\n192.168.0.0/16\n$FEED_IP\n", 'feed.netset');
my $dir = File::Spec->catdir(tmpdir(), 'cache');

my $n = 0;
sub ev { my ($ip, $verb, $res) = @_; $n++;
    event_line(verb => $verb, resource => $res, namespace => 'prod', ip => $ip, user => 'EKS',
               name => ($verb eq 'list' ? undef : "obj-$n"), received => sprintf('2024-03-12T10:%02d:00.000000Z', $n % 60)) . "\n" }
my $events = join '', ev($TOR_IP, 'list', 'pods'), ev('45.95.147.236', 'get', 'secrets'),
    ev('141.98.10.7', 'delete', 'pods'), ev('2a03:b0c0:3:d0::1a', 'list', 'secrets'),
    ev($FEED_IP, 'get', 'secrets'), ev('10.0.3.4', 'get', 'secrets'), ev('91.240.118.72', 'get', 'secrets');

sub scan {
    my (@extra) = @_;
    return run_kguard(args => ['scan', '--rules', 'rules.d', '--stats', '--tor-exits', $tor, '--malicious-ips', $mal,
                               '--threat-list', "partner=$feed", @extra, '-'], stdin => $events);
}
sub unclock { join "\n", map { s/"(createdAt|updatedAt)":"[^"]*"/"$1":"-"/gr } split /\n/, $_[0]{stdout} }
sub cache_states { my %s = $_[0]{stderr} =~ /^kguard: stats: list (\S+) .* cache=(\S+)$/mg; \%s }
# stderr without the lines that differ between runs (stats timings, the cache's own lines)
sub messages { join "\n", grep { !/stats: |list cache|summary:/ } split /\n/, $_[0]{stderr} }
sub cache_files { opendir my $d, $_[0] // $dir or return (); my @f = sort grep { /^list-[0-9a-f]{16}\.kgc$/ } readdir $d; @f }
sub all { my ($s, $v) = @_; [ map { "$_=$v" } qw(tor-exits malicious-ips partner) ] }
sub got { my ($s) = @_; [ map { "$_=" . ($s->{$_} // 'none') } qw(tor-exits malicious-ips partner) ] }

my $ref = scan();
is($ref->{exit}, 0, 'uncached run: exit 0') or diag(describe_run($ref));
unlike($ref->{stderr}, qr/cache=/, 'no cache without --cache-dir or --state');
my %types; $types{ $_->{type} // '' }++ for map { json_decode($_) } grep { /\S/ } split /\n/, $ref->{stdout};
ok($types{'Discovery:Kubernetes/TorIPCaller'} && $types{'CredentialAccess:Kubernetes/MaliciousIPCaller'}
   && $types{'CredentialAccess:Kubernetes/MaliciousIPCaller.Custom'}, 'uncached run: Tor, malicious and custom list hits')
    or diag(describe_run($ref));

subtest 'cold then warm start: identical findings and messages' => sub {
    my $cold = scan('--cache-dir', $dir);
    is($cold->{exit}, 0, 'cold: exit 0') or diag(describe_run($cold));
    is_deeply(got(cache_states($cold)), all(0, 'built'), 'cold: every list read from its file and cached');
    is(scalar(my @f = cache_files()), 3, 'one cache file per list');
    my $warm = scan('--cache-dir', $dir);
    is($warm->{exit}, 0, 'warm: exit 0') or diag(describe_run($warm));
    is_deeply(got(cache_states($warm)), all(0, 'hit'), 'warm: every list from its cache');
    is(unclock($warm), unclock($ref), 'warm: the same findings as without a cache');
    is(unclock($cold), unclock($ref), 'cold: the same findings as without a cache');
    is(messages($warm), messages($ref), 'warm: the same messages (the bad line, the private ranges left out)');
    like($warm->{stderr}, qr/^kguard: \Q$mal\E:5: bad address "45\.95\.147": partial IPv4 address.*\(line skipped\)$/m,
         'warm: the bad line of the list file is still reported, with its line');
    like($warm->{stderr}, qr/^kguard: list partner \(\Q$feed\E\): 3 entries; .*: 2 entries dropped, 0 clipped$/m,
         'warm: the special-purpose ranges left out are still reported');
    unlike($warm->{stderr}, qr/list cache/, 'warm: no word about the cache');
};

subtest '--literal-lists has its own cache files' => sub {
    my $lit = scan('--cache-dir', $dir, '--literal-lists');
    is_deeply(got(cache_states($lit)), ['tor-exits=built', 'malicious-ips=built', 'partner=built'],
              'literal: every list built (threat lists without special-purpose ranges left out)');
    like($lit->{stdout}, qr/"ipAddressV4":"10\.0\.3\.4"/, 'literal: the private caller on the partner feed is reported');
    my $again = scan('--cache-dir', $dir, '--literal-lists');
    is_deeply(got(cache_states($again)), all(0, 'hit'), 'literal again: from the cache');
    is(unclock($again), unclock($lit), 'literal again: the same findings');
    my $plain = scan('--cache-dir', $dir);
    is_deeply(got(cache_states($plain)), all(0, 'hit'), 'without --literal-lists: its own cache files still hit');
    unlike($plain->{stdout}, qr/"ipAddressV4":"10\.0\.3\.4"/, 'without --literal-lists: the private caller is not reported');
};

subtest 'an edited list is read again and its cache rebuilt' => sub {
    my $before = read_file($mal);
    my @st = stat $mal;
    # same size, same mtime, other content: only the content hash tells
    (my $edited = $before) =~ s/194\.26\.29\.113/91.240.118.72/;
    is(length $edited, length $before, 'the edit keeps the size');
    write_file($edited, 'mal.txt');
    utime $st[8], $st[9], $mal;
    my $r = scan('--cache-dir', $dir);
    is($r->{exit}, 0, 'exit 0') or diag(describe_run($r));
    is_deeply(got(cache_states($r)), ['tor-exits=hit', 'malicious-ips=built', 'partner=hit'], 'only the edited list is rebuilt');
    ok((grep { /MaliciousIPCaller"/ && /"ipAddressV4":"91\.240\.118\.72"/ } split /\n/, $r->{stdout}),
       'the address the edit added matches');
    my $again = scan('--cache-dir', $dir);
    is_deeply(got(cache_states($again)), all(0, 'hit'), 'the next start takes the rebuilt cache');
    is(unclock($again), unclock($r), 'with the same findings');
    write_file($before, 'mal.txt');
    is(scan('--cache-dir', $dir)->{exit}, 0, 'the list restored');
};

subtest 'a corrupt, truncated or foreign cache file is ignored with a message' => sub {
    my $cdir = File::Spec->catdir(tmpdir(), 'cache2');
    scan('--cache-dir', $cdir);
    my $good = scan('--cache-dir', $cdir);
    is_deeply(got(cache_states($good)), all(0, 'hit'), 'all cached');
    # the malicious list's: the one that keeps its bad line's message
    my ($file) = grep { read_file($_) =~ /partial IPv4/ } map { File::Spec->catfile($cdir, $_) } cache_files($cdir);
    ok($file, 'the cache file of the malicious list');
    my $bytes = read_file($file);
    my %bad = (
        'a flipped bit in the tables' => sub { my $b = $_[0]; substr($b, 160, 1) = chr(ord(substr($b, 160, 1)) ^ 0x10); $b },
        'a flipped bit in the header counts' => sub { my $b = $_[0]; substr($b, 104, 1) = chr(ord(substr($b, 104, 1)) ^ 0x01); $b },
        'a truncated file' => sub { substr($_[0], 0, length($_[0]) - 9) },
        'a file cut inside the header' => sub { substr($_[0], 0, 40) },
        'an empty file' => sub { '' },
        'another file' => sub { "# not a cache\n" x 20 },
    );
    for my $case (sort keys %bad) {
        open my $fh, '>:raw', $file or die; print {$fh} $bad{$case}->($bytes); close $fh;
        my $r = scan('--cache-dir', $cdir);
        is($r->{exit}, 0, "$case: exit 0") or diag(describe_run($r));
        like($r->{stderr}, qr/^kguard: list cache \Q$file\E \(list malicious-ips\): ignored: .+; rebuilt from \Q$mal\E$/m,
             "$case: a message names the cache file, the list and the list file") or diag($r->{stderr});
        is(unclock($r), unclock($ref), "$case: the same findings");
        is(cache_states($r)->{'malicious-ips'}, 'built', "$case: the cache file is written again");
        is(read_file($file), $bytes, "$case: as it was");
    }
};

subtest 'a cache directory that cannot be written: a warning, not a failure' => sub {
    my $file = write_file("not a directory\n", 'plain-file');
    my $r = scan('--cache-dir', "$file/cache");
    is($r->{exit}, 0, 'exit 0') or diag(describe_run($r));
    my @w = $r->{stderr} =~ /^(kguard: list cache: cannot create .*\(lists load from their files\))$/mg;
    is(scalar @w, 1, 'one warning, not one per list') or diag($r->{stderr});
    is_deeply(got(cache_states($r)), all(0, 'unwritten'), 'the lists are loaded from their files');
    is(unclock($r), unclock($ref), 'the same findings');
};

subtest 'default: beside the state file; the config key' => sub {
    my $state = File::Spec->catfile(tmpdir(), 'state.json');
    my $r = scan('--state', $state);
    is($r->{exit}, 0, 'exit 0') or diag(describe_run($r));
    ok(-d File::Spec->catdir(tmpdir(), 'kguard-cache'), 'the cache directory is kguard-cache beside the state file');
    is_deeply(got(cache_states($r)), all(0, 'built'), 'lists cached there');
    my $cdir = File::Spec->catdir(tmpdir(), 'from-config');
    my $cfg = write_file("return { cache_dir = '$cdir' }\n", 'kguard.lua');
    $r = scan('--config', $cfg);
    is($r->{exit}, 0, 'config: exit 0') or diag(describe_run($r));
    is_deeply(got(cache_states($r)), all(0, 'built'), 'config: cache_dir takes the cache');
    ok(-d $cdir, 'config: the directory is made');
};

subtest 'reload under run: a changed list is read again and its cache refreshed; a sharp shrink is refused' => sub {
    my $rdir = File::Spec->catdir(tmpdir(), 'run-cache');
    my @ips = map { "91.240.118.$_" } 1 .. 8;
    my $list = write_file(join('', map { "$_\n" } @ips[0 .. 3]), 'run/mal.txt');
    my $log = write_file('', 'run/audit.log');
    my @args = ('run', '--rules', 'rules.d', '--malicious-ips', $list, '--cache-dir', $rdir, '--follow', $log,
                '--from-start', '--stats');
    my $k = start_kguard(args => \@args);
    my $append = sub { open my $fh, '>>', $log or die; print {$fh} @_; close $fh };
    my $has = sub { my ($ip) = @_; grep { ($_->{type} // '') =~ /MaliciousIPCaller/
        && ($_->{service}{action}{kubernetesApiCallAction}{remoteIpDetails}{ipAddressV4} // '') eq $ip } lines_of($k->{out}) };
    my $reloads = sub { () = stderr_of($k) =~ /^kguard: reload \(/mg };
    my $hup = sub { my $b = $reloads->(); kill 'HUP', $k->{pid}; wait_until(10, sub { $reloads->() > $b }) };
    ok(alive($k), 'started');
    $append->(ev($ips[0], 'get', 'secrets'));
    ok(wait_until(10, sub { $has->($ips[0]) }), 'a listed caller found before the reload') or diag(stderr_of($k));
    write_file(join('', map { "$_\n" } @ips), 'run/mal.txt');
    ok($hup->(), 'reload after the list grew') or diag(stderr_of($k));
    $append->(ev($ips[6], 'get', 'secrets'));
    ok(wait_until(10, sub { $has->($ips[6]) }), 'an address the list gained matches') or diag(stderr_of($k));
    write_file("$ips[7]\n", 'run/mal.txt');
    ok($hup->(), 'reload after the list shrank to one entry');
    like(stderr_of($k), qr/^kguard: list malicious-ips \(\Q$list\E\) shrank from 8 to 1 entries: refused/m, 'the shrink is refused');
    $append->(ev($ips[5], 'delete', 'pods'));
    ok(wait_until(10, sub { $has->($ips[5]) }), 'the previous version still matches');
    clean_exit(finish($k, signal => 'TERM'), 'run');
    my $r = run_kguard(args => ['scan', '--rules', 'rules.d', '--stats', '--malicious-ips', $list, '--cache-dir', $rdir, '-'],
                       stdin => ev($ips[7], 'get', 'secrets') . ev($ips[6], 'get', 'secrets'));
    is(cache_states($r)->{'malicious-ips'}, 'hit', 'the cache the reload wrote is taken on the next start');
    like($r->{stdout}, qr/"ipAddressV4":"\Q$ips[7]\E"/, 'and holds the list as the file has it now');
    unlike($r->{stdout}, qr/"ipAddressV4":"\Q$ips[6]\E"/, 'not an older version');
};

done_testing();
