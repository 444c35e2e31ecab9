//! Merkle trees as RFC 6962 (Certificate Transparency, §2.1) defines them, over SHA-256.
//!
//! - leaf hash: `SHA-256(0x00 || leaf bytes)`;
//! - node hash: `SHA-256(0x01 || left || right)`;
//! - the root of `n > 1` leaves splits them at `k`, the largest power of two smaller than
//!   `n`: `MTH(D[0:n]) = node(MTH(D[0:k]), MTH(D[k:n]))`; the root of one leaf is its leaf
//!   hash; the root of no leaves is `SHA-256("")`;
//! - the audit path of leaf `m` is RFC 6962's `PATH(m, D[n])`, siblings from the leaf up,
//!   checked by RFC 9162 §2.1.3.2's algorithm ([`verify_inclusion`]).
//!
//! The prefixes keep a leaf from being passed off as an inner node (second preimages).

use sha2::{Digest, Sha256};

/// A SHA-256 value.
pub type Hash = [u8; 32];

/// `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The largest power of two smaller than `n` (`n >= 2`).
fn split(n: usize) -> usize {
    debug_assert!(n >= 2);
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// The root over leaf hashes, in order.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The audit path of leaf `index` (siblings from the leaf up); `None` when out of range.
pub fn audit_path(leaves: &[Hash], index: usize) -> Option<Vec<Hash>> {
    if index >= leaves.len() {
        return None;
    }
    let mut path = Vec::new();
    path_rec(leaves, index, &mut path);
    Some(path)
}

fn path_rec(leaves: &[Hash], m: usize, out: &mut Vec<Hash>) {
    let n = leaves.len();
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        path_rec(&leaves[..k], m, out);
        out.push(root(&leaves[k..]));
    } else {
        path_rec(&leaves[k..], m - k, out);
        out.push(root(&leaves[..k]));
    }
}

/// Whether `path` proves that `leaf` (a leaf hash) is leaf `index` of a tree of `size`
/// leaves with root `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, path: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && r == *root
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(format!("line {i}").as_bytes()))
            .collect()
    }

    #[test]
    fn rfc6962_shapes() {
        assert_eq!(
            hex::encode(root(&[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // The empty leaf: SHA-256 of the single byte 0x00.
        assert_eq!(
            hex::encode(leaf_hash(b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        let l = leaves(3);
        assert_eq!(root(&l), node_hash(&node_hash(&l[0], &l[1]), &l[2]));
        let l = leaves(5);
        let left = node_hash(&node_hash(&l[0], &l[1]), &node_hash(&l[2], &l[3]));
        assert_eq!(root(&l), node_hash(&left, &l[4]));
        assert_eq!(audit_path(&l, 4).unwrap(), vec![left]);
        assert_eq!(
            audit_path(&l, 2).unwrap(),
            vec![l[3], node_hash(&l[0], &l[1]), l[4]]
        );
        assert!(audit_path(&l, 5).is_none());
        assert_eq!(audit_path(&l[..1], 0).unwrap(), Vec::<Hash>::new());
        assert!(verify_inclusion(0, 1, &l[0], &[], &l[0]));
    }

    /// RFC 6962's test vectors (from the Certificate Transparency reference code): the
    /// roots of the first 1..=8 of eight fixed leaves.
    #[test]
    fn certificate_transparency_vectors() {
        let inputs: [&[u8]; 8] = [
            b"",
            b"\x00",
            b"\x10",
            b"\x20\x21",
            b"\x30\x31",
            b"\x40\x41\x42\x43",
            b"\x50\x51\x52\x53\x54\x55\x56\x57",
            b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
        ];
        let roots = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let l: Vec<Hash> = inputs.iter().map(|d| leaf_hash(d)).collect();
        for (n, want) in roots.iter().enumerate() {
            assert_eq!(hex::encode(root(&l[..=n])), *want, "{} leaves", n + 1);
        }
    }

    proptest! {
        #[test]
        fn every_leaf_proves_and_a_changed_leaf_does_not(
            n in 1usize..130,
            pick in any::<prop::sample::Index>(),
            flip in any::<prop::sample::Index>(),
        ) {
            let l = leaves(n);
            let r = root(&l);
            for (i, leaf) in l.iter().enumerate() {
                let p = audit_path(&l, i).unwrap();
                prop_assert!(verify_inclusion(i as u64, n as u64, leaf, &p, &r), "leaf {} of {}", i, n);
            }
            let i = pick.index(n);
            let p = audit_path(&l, i).unwrap();
            // Another leaf's bytes at the same place.
            let changed = leaf_hash(format!("line {i} changed").as_bytes());
            prop_assert!(!verify_inclusion(i as u64, n as u64, &changed, &p, &r));
            // The same leaf claimed at another index (the tree's size is not proved by the
            // path: it is the signed manifest's number of lines).
            let j = flip.index(n);
            if j != i {
                prop_assert!(!verify_inclusion(j as u64, n as u64, &l[i], &p, &r));
            }
            prop_assert!(!verify_inclusion(n as u64, n as u64, &l[i], &p, &r));
            // A path with one bit flipped.
            if !p.is_empty() {
                let mut bad = p.clone();
                bad[0][0] ^= 1;
                prop_assert!(!verify_inclusion(i as u64, n as u64, &l[i], &bad, &r));
            }
            // Changing any leaf changes the root.
            let mut l2 = l.clone();
            l2[i] = changed;
            prop_assert_ne!(root(&l2), r);
        }
    }
}
